"""The statements that change the read model's dual notifications and risk alerts: the facts whose deadline a
service may recompute (a notification's acknowledge-by time, an alert's response deadline), so the time as
issued or raised stands only until a recomputation is applied, and a recomputation only over an older one.

Each is an upsert keyed by the publisher's ids, as every write of the read model (``writes``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jsp_common.unnest import unnest_insert
from sqlalchemy import Text, bindparam, case, func, literal_column, or_, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from .tables import TZ, notifications, risk_alerts


# Notifications as issued: a poll's in one statement of fixed text (a day's registrations notify thousands).
_ISSUED_COLUMNS = ("notification_id", "department", "uscc", "entity_name", "city_code", "kind", "cause", "issued_at",
                   "acknowledge_by", "acknowledge_by_provisional")
# The time as issued stands until the registry recomputes it: a notice issued again (a dead letter re-driven
# after a recomputation was applied) keeps the recomputed time.
_RECOMPUTED = ("acknowledge_by", "acknowledge_by_provisional")
_UPSERT_ISSUED = unnest_insert(notifications, _ISSUED_COLUMNS, suffix=(
    "ON CONFLICT (notification_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" if c not in _RECOMPUTED else
                f"{c} = CASE WHEN notifications.due_changed_at IS NULL THEN excluded.{c} ELSE notifications.{c} END"
                for c in _ISSUED_COLUMNS if c != "notification_id")))


# The new-responsibility notices a later notice to the same department about the same entity supersedes, as the
# registry marks them (registry.adapters.notifications): given, per (entity, department), the last notice received
# (the registry issues them in order on the entity's partition; one issued in the same poll has the same time).
# A notice issued after it, received again (re-driven), supersedes nothing of it.
_SUPERSEDE = text(
    "UPDATE notifications AS n SET superseded_at = v.issued_at "
    "FROM unnest(:usccs, :departments, :ids, :issued) AS v(uscc, department, id, issued_at) "
    "WHERE n.uscc = v.uscc AND n.department = v.department AND n.notification_id <> v.id "
    "AND n.kind = 'new_responsibility' AND n.superseded_at IS NULL AND n.issued_at <= v.issued_at").bindparams(
    bindparam("usccs", type_=ARRAY(Text)), bindparam("departments", type_=ARRAY(Text)),
    bindparam("ids", type_=ARRAY(Text)), bindparam("issued", type_=ARRAY(TZ)))


async def upsert_notifications(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Notifications as issued, in the order received: as if upserted one by one (a notification issued twice in
    the poll: its last); the earlier new-responsibility notices they follow superseded."""
    latest = {row["notification_id"]: row for row in rows}
    await _UPSERT_ISSUED.run(session, list(latest.values()))
    last = list({(r["uscc"], r["department"]): r for r in rows}.values())
    await session.execute(_SUPERSEDE, {"usccs": [r["uscc"] for r in last],
                                       "departments": [r["department"] for r in last],
                                       "ids": [r["notification_id"] for r in last],
                                       "issued": [r["issued_at"] for r in last]})


async def notification_due_changed(session: AsyncSession, row: dict[str, Any], *, previous: datetime | None,
                                   changed_at: datetime) -> None:
    """A recomputed acknowledge-by time (the earlier one kept when it had already passed), unless a later
    recomputation was applied already."""
    stmt = insert(notifications).values(**row, previous_acknowledge_by=previous, due_changed_at=changed_at)
    changing = {"acknowledge_by": stmt.excluded.acknowledge_by,
                "acknowledge_by_provisional": stmt.excluded.acknowledge_by_provisional,
                "due_changed_at": stmt.excluded.due_changed_at}
    if previous is not None:
        changing["previous_acknowledge_by"] = stmt.excluded.previous_acknowledge_by
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[notifications.c.notification_id], set_=changing,
        where=or_(notifications.c.due_changed_at.is_(None), notifications.c.due_changed_at <= changed_at)))


async def notification_reminded(session: AsyncSession, row: dict[str, Any], reminded_at, count: int) -> None:
    stmt = insert(notifications).values(**row, reminder_count=count, last_reminded_at=reminded_at)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[notifications.c.notification_id],
        set_={"reminder_count": func.greatest(notifications.c.reminder_count, count),
              "last_reminded_at": func.greatest(notifications.c.last_reminded_at, reminded_at)}))


async def notification_acknowledged(session: AsyncSession, row: dict[str, Any], at, by: str) -> None:
    stmt = insert(notifications).values(**row, acknowledged_at=at, acknowledged_by=by)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[notifications.c.notification_id], set_={"acknowledged_at": at, "acknowledged_by": by}))


# An alert's departments only grow (the risk service adds those that become responsible for its entity): every
# event's are taken in, in whatever order the events arrive.
_ALERT_DEPARTMENTS = literal_column(
    "ARRAY(SELECT DISTINCT d FROM unnest(risk_alerts.departments || excluded.departments) AS d ORDER BY d)")


async def upsert_alert(session: AsyncSession, row: dict[str, Any]) -> None:
    """A raised alert (a redelivery, or a later event that arrived first, keeps what it knows; its response
    deadline as raised stands until the risk service recomputes it)."""
    stmt = insert(risk_alerts).values(**row)
    unchanged = risk_alerts.c.respond_by_changed_at.is_(None)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[risk_alerts.c.alert_id],
        set_={**{k: (case((unchanged, stmt.excluded[k]), else_=risk_alerts.c[k]) if k.startswith("respond_by")
                     else stmt.excluded[k]) for k in row if k not in ("alert_id", "state")},
              "departments": _ALERT_DEPARTMENTS}))


async def alert_changed(session: AsyncSession, alert_id: str, base: dict[str, Any], state: str, **moments: Any) -> None:
    """An acknowledgement, a response, an escalation or the closing of an alert: its state, moment and
    departments. A closed alert stays closed; an escalated one is escalated until it is answered or closed, and
    an acknowledgement (another department's, later) leaves an answered or escalated one as it is; the first
    acknowledgement's moment is kept."""
    stmt = insert(risk_alerts).values(alert_id=alert_id, state=state, **base, **moments)
    current = risk_alerts.c.state
    kept = case((current == "closed", "closed"),
                ((stmt.excluded.state == "acknowledged") & current.in_(("responded", "escalated")), current),
                else_=stmt.excluded.state)
    first = {"acknowledged_at": func.coalesce(risk_alerts.c.acknowledged_at, stmt.excluded.acknowledged_at)}
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[risk_alerts.c.alert_id],
        set_={"state": kept, "departments": _ALERT_DEPARTMENTS,
              **{k: first.get(k, stmt.excluded[k]) for k in moments}}))


async def alert_respond_by_changed(session: AsyncSession, alert_id: str, *, previous: datetime, respond_by: datetime,
                                   provisional: bool, previous_passed: bool, changed_at: datetime) -> None:
    """A recomputed response deadline (the alert's events share a partition: the alert is there); the earlier
    one kept when it had already passed; none applied over a later recomputation."""
    changed = risk_alerts.c.respond_by_changed_at
    await session.execute(update(risk_alerts).where(
        risk_alerts.c.alert_id == alert_id, or_(changed.is_(None), changed <= changed_at)).values(
        respond_by=respond_by, respond_by_provisional=provisional, respond_by_changed_at=changed_at,
        **({"previous_respond_by": previous} if previous_passed else {})))
