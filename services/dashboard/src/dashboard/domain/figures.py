"""Figures as values: merging per-area counts into rows by department and by city, week buckets for
trends, and the colour a city gets in the division table. No I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

# What the directory holds (counted, never work to do) and the work the departments have.
ENTITY_FIGURES = ("entities", "entities_class_c", "entities_class_d")
FIGURES = (*ENTITY_FIGURES, "notes_pending", "notes_overdue", "clues_open", "clues_due_soon", "clues_overdue",
           "clues_chased", "clues_escalated", "clues_returned", "clues_redispatched", "adjudication_open",
           "inspections_published", "inspections_problems", "inspections_planned", "inspections_overdue",
           "inspections_awaiting", "inspections_publication_overdue",
           "alerts_open", "alerts_blue", "alerts_yellow", "alerts_orange", "alerts_red", "alerts_unanswered",
           "alerts_escalated")


@dataclass
class Row:
    key: str | None
    name: str
    values: dict[str, int] = field(default_factory=dict)
    adjudication_oldest: datetime | None = None

    def get(self, figure: str) -> int:
        return self.values.get(figure, 0)

    @property
    def late(self) -> int:
        """What a city is coloured by: overdue notifications and overdue clues."""
        return self.get("notes_overdue") + self.get("clues_overdue")


def merge(parts: list[dict], keys: list[tuple[str | None, str]] | None, names) -> list[Row]:
    """One row per key: the fixed ``keys`` (every city, in order; then one row for items with no key, so the
    rows add up to the totals) or else every key any part has."""
    rows: dict[str | None, Row] = {}
    if keys is not None:
        for k, name in keys:
            rows[k] = Row(k, name)
    for part in parts:
        for k, values in part.items():
            if keys is not None and k not in rows and k is not None:
                k = None  # not one of the fixed keys: counted with the items that have none
            if k not in rows:
                rows[k] = Row(k, names(k))
            for fig, v in values.items():
                if fig == "adjudication_oldest":
                    rows[k].adjudication_oldest = v
                else:
                    rows[k].values[fig] = rows[k].values.get(fig, 0) + int(v or 0)
    return list(rows.values())


def totals(rows: list[Row]) -> dict[str, int]:
    return {f: sum(r.get(f) for r in rows) for f in FIGURES}


def busiest_first(rows: list[Row]) -> list[Row]:
    """Departments with something to do first (overdue, then open), quiet ones left out."""
    active = [r for r in rows if any(r.get(f) for f in FIGURES if f not in ENTITY_FIGURES)]
    return sorted(active, key=lambda r: (-r.late, -r.get("clues_escalated"), -r.get("notes_pending"),
                                         -r.get("clues_open"), r.key or ""))


def weeks(today: date, count: int) -> list[date]:
    """Mondays of the last ``count`` weeks, oldest first (the current week last)."""
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=i) for i in range(count - 1, -1, -1)]


def heat(value: int, highest: int) -> str:
    """A background colour from pale (nothing late) to deep red (the most late of all cities)."""
    if value <= 0 or highest <= 0:
        return "#eef6ee"
    share = min(1.0, value / highest)
    steps = ("#fde8e4", "#fbd3ca", "#f8b9ab", "#f49d8a", "#ef8169")  # dark text stays readable
    return steps[min(len(steps) - 1, int(share * (len(steps) - 1) + 0.5))]


def age(since: datetime | None, now: datetime) -> str:
    """How long something has waited, in Chinese: 3天5小时, 2小时, 刚刚."""
    if since is None:
        return "—"
    seconds = max(0, int((now - since).total_seconds()))
    days, hours = seconds // 86400, seconds % 86400 // 3600
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时"
    minutes = seconds // 60
    return f"{minutes}分钟" if minutes else "刚刚"


def regroup(facts: list[dict], key: str, figures_: tuple[str, ...]) -> dict:
    """Sum per-fact counts by one of their keys (e.g. the clues' counts by ``lead`` or by ``city``)."""
    out: dict = {}
    for f in facts:
        row = out.setdefault(f[key], {k: 0 for k in figures_})
        for k in figures_:
            row[k] += f.get(k, 0)
    return out


CLUE_FIGURES = ("clues_open", "clues_overdue", "clues_due_soon", "clues_chased", "clues_escalated", "clues_returned",
                "clues_redispatched")
