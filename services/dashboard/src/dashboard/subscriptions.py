"""Event type -> thin adapter into the read model (consumer group ``dashboard.read-model``).

The group reads every topic the pages need: the directory, adjudication, every department's notifications
and clue chasers (the catalogue's per-department topics, expanded), the clue lifecycle and inspection
results. A part of the platform that starts publishing a new event type (the risk service's alerts) is
added here with its handler and its table.
"""

from __future__ import annotations

from jsp_common import departments, topics
from jsp_common.consumer import HandlerContext

from .deps import Deps
from .usecases import ingest


def read_model_topics() -> list[str]:
    fixed = [topics.REGISTRY_ENTITIES, topics.REGISTRY_ADJUDICATION, topics.CLUE_LIFECYCLE, topics.INSPECTION_RESULTS]
    per_department = [topics.department_topic(template, d.code) for d in departments.all_departments()
                      for template in (topics.NOTIFICATIONS, topics.DEPARTMENT_CLUES)]
    return fixed + per_department


def read_model_handlers(deps: Deps):
    def on(use_case):
        async def handle(ctx: HandlerContext) -> None:
            await use_case(ctx.session, ctx.data, ctx.envelope)
        return handle

    return {
        "registry.entity.changed.v1": on(ingest.entity_changed),
        "registry.adjudication.requested.v1": on(ingest.adjudication_requested),
        "registry.adjudication.decided.v1": on(ingest.adjudication_decided),
        "registry.assignment.disputed.v1": on(ingest.assignment_disputed),
        "registry.notification.issued.v1": on(ingest.notification_issued),
        "registry.notification.reminded.v1": on(ingest.notification_reminded),
        "registry.notification.acknowledged.v1": on(ingest.notification_acknowledged),
        "registry.notification.due-changed.v1": on(ingest.notification_due_changed),
        "clues.clue.transitioned.v1": on(ingest.clue_transitioned),
        "clues.clue.dispatched.v1": on(ingest.clue_dispatched),
        "clues.clue.chased.v1": on(ingest.clue_chased),
        "clues.clue.escalated.v1": on(ingest.clue_escalated),
        "clues.clue.deadline-changed.v1": on(ingest.clue_deadline_changed),
        "inspection.result.published.v1": on(ingest.inspection_published),
    }
