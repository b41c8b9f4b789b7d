"""Risk alerts: raised and closed as scores move, acknowledged and answered by departments, escalated to the
office when a red alert stays unanswered past its deadline. Every change goes to the general alerts topic
(ministries, the office) and to each responsible department's own ``dept.<department>.alerts.v1``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock, topics
from jsp_common.events.clues import (MAX_ADDRESS_CHARS, MAX_CONTENT_CHARS, MAX_SHORT_CHARS, ClueSubmitted, Urgency,
                                     clue_text)
from jsp_common.events.risk import (MAX_REQUEST_REASON_CHARS, Contribution, InspectionRequested, RiskAlertAcknowledged,
                                    RiskAlertClosed, RiskAlertDepartmentsAdded, RiskAlertEscalated, RiskAlertRaised,
                                    RiskAlertResponded, WarningLevel)
from jsp_common.logs import get_logger
from jsp_common.outbox import SessionTx
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal, Role
from jsp_common.problems import Problem

from ..adapters import alert_rows
from ..adapters import repository as repo
from ..deps import Deps
from ..domain import alerts as rules
from ..domain.model import RiskModel
from ..domain.scoring import Assessment

log = get_logger(__name__)
SYSTEM = "risk"


def new_alert_id(tx: Tx, now: datetime, uscc: str) -> str:
    """The alert's id, derived from the input that raises it (see ``Transaction.new_id``)."""
    return f"RA{clock.as_local(now):%Y%m%d}-{tx.new_id('alert', uscc).replace('-', '')[:12]}"


async def publish(tx: Tx, event, departments: list[str]) -> None:
    """One alert event on the general topic and on every responsible department's topic."""
    await tx.emit(topics.RISK_ALERTS, event, key=event.uscc)
    for d in departments:
        await tx.emit(topics.department_topic(topics.DEPARTMENT_ALERTS, d), event, key=event.uscc)


def alert_fields(alert: dict) -> dict:
    return {"alert_id": alert["id"], "uscc": alert["uscc"], "level": alert["level"],
            "departments": list(alert["departments"])}


async def record(tx: Tx, alert: dict, action: str, actor: str, department: str | None, at: datetime,
                 **details) -> None:
    await alert_rows.add_alert_history(tx.session, alert_id=alert["id"], at=at, action=action, actor=actor,
                                 department=department, details=details)


async def evaluate_many(deps: Deps, tx: Tx, assessed: list[tuple[Tx, dict, Assessment]], model: RiskModel, *,
                        now: datetime) -> None:
    """:func:`evaluate` for many entities, their alerts read with two statements; each entity's events issued
    through the transaction paired with it (the input that re-scored it)."""
    opened, latest = await alert_rows.alerts_of_many(tx.session, [s["uscc"] for _, s, _ in assessed])
    for issuer, standing, a in assessed:
        prev = latest.get((standing["uscc"], a.level.value)) if a.level else None
        await _decide(deps, issuer, standing, a, model, opened.get(standing["uscc"]), prev, now=now)


async def evaluate(deps: Deps, tx: Tx, standing: dict, a: Assessment, model: RiskModel, *, now: datetime) -> None:
    """Raise, keep, suppress or close the entity's alert after a new assessment."""
    uscc = standing["uscc"]
    row = await alert_rows.open_alert(tx.session, uscc)
    prev = await alert_rows.last_alert_at_level(tx.session, uscc, a.level.value) if a.level is not None else None
    await _decide(deps, tx, standing, a, model, row, prev, now=now)


async def _decide(deps: Deps, tx: Tx, standing: dict, a: Assessment, model: RiskModel, row: dict | None,
                  prev: dict | None, *, now: datetime) -> None:
    uscc = standing["uscc"]
    open_alert = rules.OpenAlert(row["id"], WarningLevel(row["level"]), row["score"]) if row else None
    last = rules.LastAlert(WarningLevel(prev["level"]), prev["raised_at"], prev["raised_score"]) if prev else None
    decision = rules.decide(level=a.level, score=a.score, open_alert=open_alert, last_at_level=last, now=now,
                            cooldown_hours=model.cooldown_hours)
    if standing.get("alert_held_until") is not None and not isinstance(decision, rules.Suppressed):
        await repo.clear_hold(tx.session, uscc)  # decided now (raised, closed, or the level moved): nothing held
    if isinstance(decision, rules.Close):
        await close(tx, row, decision.reason, a.score, now)
    elif isinstance(decision, rules.Suppressed):
        log.info("alert suppressed by the cool-down", uscc=uscc, level=decision.level.value, reason=decision.reason)
        await repo.hold_back(tx.session, uscc, decision.level.value, decision.until)  # usecases/cooldown.py
    elif isinstance(decision, rules.Raise):
        if row is not None:
            await close(tx, row, "superseded", a.score, now)
        await raise_alert(deps, tx, standing, a, model, now=now, previous=open_alert.level if open_alert else None)
    elif row is not None:
        if a.score != row["score"]:
            await alert_rows.update_alert(tx.session, row["id"], score=a.score)
        await _take_in_named(tx, row, standing, now)


async def _take_in_named(tx: Tx, alert: dict, standing: dict, now: datetime) -> None:
    """An open alert names the departments the entity's events named since it was raised (a gas leak names the
    city's gas authority) when its level holds: raised again, an alert takes them in anyway. Not an alert whose
    plan notifies no department (the model's choice holds)."""
    added = sorted(set(standing.get("departments") or []) - set(alert["departments"]))
    if not added or "notify_departments" not in alert["actions"]:
        return
    alert = {**alert, "departments": sorted(set(alert["departments"]) | set(added))}
    await alert_rows.update_alert(tx.session, alert["id"], departments=alert["departments"])
    await record(tx, alert, "departments_added", SYSTEM, None, now, added=added)
    await publish(tx, RiskAlertDepartmentsAdded(
        **alert_fields(alert), added=added, state=alert["state"], respond_by=alert["respond_by"],
        respond_by_provisional=alert["respond_by_provisional"], raised_at=alert["raised_at"], at=now), added)


async def close(tx: Tx, alert: dict, reason: str, score: float, now: datetime) -> None:
    await alert_rows.update_alert(tx.session, alert["id"], state="closed", closed_at=now, close_reason=reason)
    await record(tx, alert, "close", SYSTEM, None, now, reason=reason, score=score)
    await publish(tx, RiskAlertClosed(**alert_fields(alert), reason=reason, score=score, at=now),
                  list(alert["departments"]))


def departments_of(standing: dict, entity: dict | None) -> list[str]:
    """The registry's responsible departments and those the events named."""
    named = set(standing.get("departments") or [])
    if entity is not None:
        named |= set(entity["responsible_departments"] or [])
    return sorted(named)


async def raise_alert(deps: Deps, tx: Tx, standing: dict, a: Assessment, model: RiskModel, *, now: datetime,
                      previous: WarningLevel | None) -> dict:
    assert a.level is not None
    plan = model.plan(a.level)
    entity = await repo.entity(tx.session, standing["uscc"])
    departments = departments_of(standing, entity) if plan.notify_departments else []
    due = rules.response_deadline(plan, now, deps.calendar)
    alert = {"id": new_alert_id(tx, now, standing["uscc"]), "uscc": standing["uscc"], "level": a.level.value,
             "previous_level": previous.value if previous else None, "state": "open", "score": a.score,
             "raised_score": a.score,
             "model_version": a.model_version, "departments": departments, "contributions": a.contributions,
             "actions": plan.actions, "escalate": plan.escalate_when_unanswered,
             **due.columns(), "raised_at": now}
    await alert_rows.insert_alert(tx.session, alert)
    await record(tx, alert, "raise", SYSTEM, None, now, score=a.score, previous_level=alert["previous_level"])
    await publish(tx, RiskAlertRaised(
        **alert_fields(alert), entity_name=entity["name"] if entity else None,
        division_code=entity["division_code"] if entity else None, previous_level=previous, score=a.score,
        model_version=a.model_version, contributions=[Contribution(**c) for c in a.contributions],
        actions=plan.actions, respond_by=due.at, respond_by_provisional=due.provisional, raised_at=now),
        departments)
    if plan.request_inspection:
        await tx.emit(topics.INSPECTION_REQUESTS, InspectionRequested(
            request_id=f"alert:{alert['id']}", alert_id=alert["id"], uscc=standing["uscc"],
            entity_name=entity["name"] if entity else None, level=a.level, score=a.score,
            departments=departments or departments_of(standing, entity),
            reason=rules.with_contributions(f"风险预警（{a.level.value}级）风险分值{a.score:g}：", a.contributions,
                                            "", MAX_REQUEST_REASON_CHARS),
            respond_by=due.at, requested_at=now), key=standing["uscc"])
    if plan.raise_clue:
        name = clue_text(entity["name"], MAX_SHORT_CHARS) if entity else None
        await tx.emit(topics.CLUE_SUBMISSIONS, ClueSubmitted(
            channel="risk", channel_ref=f"alert:{alert['id']}", received_at=now, uscc=standing["uscc"],
            business_name=name, address=clue_text(entity["address"], MAX_ADDRESS_CHARS) if entity else None,
            division_code=entity["division_code"] if entity else None, urgency=Urgency.URGENT,
            content=rules.with_contributions(
                f"风险预警（{a.level.value}级）：{name or standing['uscc']}风险分值{a.score:g}，", a.contributions,
                "。请核查处置。", MAX_CONTENT_CHARS)),
            key=f"alert:{alert['id']}")
    return alert


# ------------------------------------------------------------------ departments and the office act on alerts
async def load(session: AsyncSession, alert_id: str, actor: Principal, *, for_update: bool = False) -> dict:
    """The alert, if the caller may see it: the office any, a department those about its entities (else 404)."""
    alert = await alert_rows.get_alert(session, alert_id, for_update=for_update)
    if alert is None or not (actor.has(Role.OFFICE) or (actor.has(Role.DEPARTMENT) and actor.department
                                                         and actor.department in alert["departments"])):
        raise Problem(404, f"no alert {alert_id}")
    return alert


def _acting_department(alert: dict, actor: Principal) -> str:
    """The department acting on the alert: the caller's, if the alert names it. A caller who sees the alert only
    through the office role (an account with both roles, its department not named) gets 403, as the office does:
    the office does not answer for a department."""
    if not actor.has(Role.DEPARTMENT) or not actor.department or actor.department not in alert["departments"]:
        raise Problem(403, "only a department the alert names acknowledges and answers it")
    return actor.department


async def acknowledge(tx: Tx, alert_id: str, actor: Principal) -> dict:
    alert = await load(tx.session, alert_id, actor, for_update=True)
    department = _acting_department(alert, actor)
    if alert["state"] == "closed":
        raise Problem(409, "the alert is closed", state=alert["state"])
    if any(h["action"] == "acknowledge" and h["department"] == department
           for h in await alert_rows.alert_history_of(tx.session, alert_id)):
        return alert  # signed by this department already: once is its acknowledgement
    now = clock.now()
    if alert["state"] == "open":
        await alert_rows.update_alert(tx.session, alert_id, state="acknowledged", acknowledged_at=now)
        alert.update(state="acknowledged", acknowledged_at=now)
    await record(tx, alert, "acknowledge", actor.subject, department, now)
    await publish(tx, RiskAlertAcknowledged(**alert_fields(alert), department=department, by=actor.subject, at=now),
                  list(alert["departments"]))
    return alert


async def respond(tx: Tx, alert_id: str, actor: Principal, *, measures: str) -> dict:
    alert = await load(tx.session, alert_id, actor, for_update=True)
    department = _acting_department(alert, actor)
    if alert["state"] == "closed":
        raise Problem(409, "the alert is closed", state=alert["state"])
    now = clock.now()
    values = {"state": "responded", "responded_at": now, "measures": measures,
              "acknowledged_at": alert["acknowledged_at"] or now}
    await alert_rows.update_alert(tx.session, alert_id, **values)
    alert.update(values)
    await record(tx, alert, "respond", actor.subject, department, now, measures=measures)
    await publish(tx, RiskAlertResponded(**alert_fields(alert), department=department, by=actor.subject,
                                         measures=measures, at=now), list(alert["departments"]))
    return alert


async def escalate_due(deps: Deps, now: datetime | None = None) -> int:
    """Escalate every alert unanswered past its deadline (its own transaction). Returns how many. An escalation's
    ids derive from the alert and its deadline (``SessionTx.caused_by``)."""
    now = now or clock.now()
    async with deps.db.transaction() as session:
        scan = SessionTx(session, deps.source)
        due = [a for a in await alert_rows.due_alerts(session, now)
               if rules.overdue(state=a["state"], escalate=a["escalate"], respond_by_at=a["respond_by"],
                                escalated_at=a["escalated_at"], now=now)]
        for alert in due:
            tx = scan.caused_by("risk.escalation", alert["id"], alert["respond_by"].isoformat())
            await alert_rows.update_alert(session, alert["id"], escalated_at=now)
            await record(tx, alert, "escalate", SYSTEM, None, now, respond_by=alert["respond_by"].isoformat())
            await publish(tx, RiskAlertEscalated(**alert_fields(alert), respond_by=alert["respond_by"], at=now),
                          list(alert["departments"]))
    return len(due)
