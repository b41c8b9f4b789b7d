"""Risk alerts as the pages name them: the warning levels and an alert's states."""

from __future__ import annotations

LEVEL_LABELS = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
STATE_LABELS = {"open": "待签收", "acknowledged": "已签收", "responded": "已处置", "escalated": "已升级督办",
                "closed": "已关闭"}
