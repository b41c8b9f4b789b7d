"""A clue's step as the office reads it: who took it (the platform's own steps named as such) and its details
with Chinese labels and readable values, instead of the event's field names (match_method: uscc; co: [])."""

from __future__ import annotations

import re
from typing import Any, Mapping

from .formats import moment
from .places import department_name, domain_name

SYSTEM_ACTORS = {"clues.intake": "系统（线索受理）", "clues.deadline-scan": "系统（期限监测）",
                 "clues.workday-schedule": "系统（节假日安排）"}
LABELS = {
    "match_method": "匹配方式", "match_confidence": "匹配度", "lead": "主办", "co": "协办", "note": "说明",
    "arbitrated": "专班裁定", "duplicate_of": "重复于", "similarity": "相似度", "reason": "原因", "department": "部门",
    "finding": "核查结论", "measures": "处理措施", "reply_text": "答复内容", "answered_by": "随首件答复",
    "closed_with": "随件关闭", "satisfied": "满意", "comment": "评价", "workdays_left": "剩余工作日",
    "overdue_workdays": "超期工作日", "extension_id": "延期申请", "workdays": "延期工作日", "new_deadline": "新期限",
    "previous_deadline": "原期限", "deadline": "期限", "provisional": "暂定", "previous_passed": "原期限已过",
    "transfer_id": "移送编号", "police": "公安机关", "extensions_withdrawn": "撤回的延期申请",
    "office": "督办部门", "domain": "领域", "previous_return_deadline": "原退回期限", "return_deadline": "退回期限",
}
DEPARTMENT_KEYS = frozenset({"lead", "co", "department", "police", "office"})
MOMENT_KEYS = frozenset({"new_deadline", "previous_deadline", "deadline", "previous_return_deadline",
                         "return_deadline"})
SHARE_KEYS = frozenset({"match_confidence", "similarity"})
VALUES = {
    "match_method": {"uscc": "统一社会信用代码", "name_place": "名称与地址"},
    "finding": {"substantiated": "属实", "partly": "部分属实", "unsubstantiated": "不属实"},
}


def actor_label(actor: str | None) -> str:
    return SYSTEM_ACTORS.get(actor or "", actor or "—")


def detail_lines(details: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(label, value) per detail worth showing: empty values left out, unknown fields under their own name."""
    out = []
    for key, value in (details or {}).items():
        if value is None or value == "" or value == []:
            continue
        out.append((LABELS.get(key, key), _value(key, value)))
    return out


def _value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if key in DEPARTMENT_KEYS:
        return "、".join(department_name(d) for d in (value if isinstance(value, list) else [value]))
    if key in MOMENT_KEYS:
        return moment(value)
    if key == "domain":
        return domain_name(str(value))
    if key == "reason" and isinstance(value, str):
        return schedule_reason(value)
    if key in SHARE_KEYS and isinstance(value, (int, float)):
        return f"{value:.0%}"
    if key in VALUES:
        return VALUES[key].get(str(value), str(value))
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


# Why the platform counted deadlines again, as jsp_common.schedule_feed.describe words it (in English, for the line
# systems): "holiday schedule published: 2027 (revision 2, <notice>), 2028 (revision 1)" and "holiday schedule of
# 2029, 2030 in the packaged calendar data", joined by "; ".
_PUBLISHED = re.compile(r"holiday schedule published: (.*)")
_PUBLISHED_YEAR = re.compile(r"(\d{4}) \(revision (\d+)(?:, (.*?))?\)(?=, \d{4} \(revision |$)")
_PACKAGED = re.compile(r"holiday schedule of ([\d, ]+) in the packaged calendar data")


def schedule_reason(text: str) -> str:
    """A recount's reason in Chinese; any other reason (a department's own words) as it was written."""
    parts = []
    for part in text.split("; "):
        if (published := _PUBLISHED.fullmatch(part)) and (years := _PUBLISHED_YEAR.findall(published[1])):
            parts.append("节假日安排公布：" + "、".join(
                f"{year}年（第{revision}版{'，' + notice if notice else ''}）" for year, revision, notice in years))
        elif packaged := _PACKAGED.fullmatch(part):
            parts.append("日历数据所载" + "、".join(f"{y}年" for y in packaged[1].split(", ")) + "节假日安排")
        else:
            return text
    return "；".join(parts)
