"""How figures and moments read for Chinese readers: 1,234 / 12.3万 / 1.2亿, and 2026年12月1日 15:47 in
Asia/Shanghai whatever zone the value came in."""

from __future__ import annotations

from datetime import date, datetime

from jsp_common import clock


def number(value) -> str:
    if value is None:
        return "—"
    v = int(value)
    for unit, size in (("亿", 100_000_000), ("万", 100_000)):
        if abs(v) >= size:
            scale = 100_000_000 if unit == "亿" else 10_000
            return f"{v / scale:.1f}".rstrip("0").rstrip(".") + unit
    return f"{v:,}"


def moment(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        v = clock.as_local(value)
        return f"{v.year}年{v.month}月{v.day}日 {v:%H:%M}"
    if isinstance(value, date):
        return f"{value.year}年{value.month}月{value.day}日"
    return str(value)
