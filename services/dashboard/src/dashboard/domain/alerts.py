"""Risk as the pages name it: the warning levels, an alert's states and the credit risk classes."""

from __future__ import annotations

LEVEL_LABELS = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
STATE_LABELS = {"open": "待签收", "acknowledged": "已签收", "responded": "已处置", "escalated": "已升级督办",
                "closed": "已关闭"}
CREDIT_CLASS_LABELS = {"A": "低风险", "B": "一般风险", "C": "较高风险", "D": "高风险"}
