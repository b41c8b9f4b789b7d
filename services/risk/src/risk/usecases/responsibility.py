"""The registry moved an entity: its open alert names the departments now responsible for it too, and each
department that joins is told on its own topic, as on the general alerts topic
(``risk.alert.departments-added.v1``), so its line system has the alert it must now answer."""

from __future__ import annotations

from datetime import datetime

from jsp_common.consumer import HandlerContext
from jsp_common.events.risk import RiskAlertDepartmentsAdded

from ..adapters import alert_rows
from .alerts import alert_fields, publish


async def follow(contexts: list[HandlerContext], now: datetime) -> int:
    """After a poll's directory records: returns how many open alerts took in departments. Each alert's event is
    issued through the last record of its entity in the poll (its id derived from that record's)."""
    by_uscc = {c.data.uscc: c for c in contexts}
    changed = await alert_rows.follow_responsibility(contexts[0].session, sorted(by_uscc), now)
    for alert in changed:
        await publish(by_uscc[alert["uscc"]], RiskAlertDepartmentsAdded(
            **alert_fields(alert), added=alert["added"], state=alert["state"], respond_by=alert["respond_by"],
            respond_by_provisional=alert["respond_by_provisional"], raised_at=alert["raised_at"], at=now),
            alert["added"])
    return len(changed)
