"""Event type -> thin adapter into the read model (consumer group ``dashboard.read-model``).

The group reads every topic the pages need: the directory, adjudication, every department's notifications
and clue chasers (the catalogue's per-department topics, expanded), the clue lifecycle and inspection
results, the joint tasks' targets with the results recorded there and their publication deadlines (every
department's inspections topic) and abandoned draws, the risk alerts and the entities' credit classes. A part
of the platform that starts publishing a new event type is added here with its handler and its table. The
dispatches on the departments' clue topics are passed over: the lifecycle topic carries each dispatch already.
"""

from __future__ import annotations

from jsp_common import departments, topics
from jsp_common.consumer import HandlerContext

from .usecases import ingest


def shared_topics() -> list[str]:
    """The platform's shared topics the read model reads (30 partitions; nearly all its traffic)."""
    return [topics.REGISTRY_ENTITIES, topics.REGISTRY_ADJUDICATION, topics.CLUE_LIFECYCLE, topics.INSPECTION_RESULTS,
            topics.INSPECTION_DRAWS, topics.RISK_ALERTS, topics.CREDIT_CLASSES]


def department_topics() -> list[str]:
    """Every department's own topics the read model reads (some 800 partitions, little traffic on each): read with
    a Kafka group of their own (``topics.departments_group``), so the busy topics' fetches do not list them all."""
    return [topics.department_topic(template, d.code) for d in departments.all_departments()
            for template in (topics.NOTIFICATIONS, topics.DEPARTMENT_CLUES, topics.DEPARTMENT_INSPECTIONS)]


def read_model_topics() -> list[str]:
    return shared_topics() + department_topics()


def kafka_groups(read_model_group: str) -> dict[str, list[str]]:
    """The read model's Kafka consumer groups and the topics each reads (to move them, or read their lag)."""
    return {read_model_group: shared_topics(), topics.departments_group(read_model_group): department_topics()}


def read_model_batch_handlers():
    """Set-wise, a poll's consecutive events of a type at once: the clue lifecycle (most of the group's events),
    the directory's records (every entity, when the read model is rebuilt) and the notifications issued."""
    def many(use_case):
        async def handle(ctxs: list[HandlerContext]) -> None:
            await use_case(ctxs[0].session, [(ctx.data, ctx.envelope) for ctx in ctxs])
        return handle

    return {"clues.clue.transitioned.v1": many(ingest.clue_transitions),
            "registry.entity.changed.v1": many(ingest.entities_changed),
            "registry.notification.issued.v1": many(ingest.notifications_issued)}


def read_model_handlers():
    def on(use_case):
        async def handle(ctx: HandlerContext) -> None:
            await use_case(ctx.session, ctx.data, ctx.envelope)
        return handle

    return {
        "registry.adjudication.requested.v1": on(ingest.adjudication_requested),
        "registry.adjudication.decided.v1": on(ingest.adjudication_decided),
        "registry.adjudication.withdrawn.v1": on(ingest.adjudication_withdrawn),
        "registry.assignment.disputed.v1": on(ingest.assignment_disputed),
        "registry.notification.reminded.v1": on(ingest.notification_reminded),
        "registry.notification.acknowledged.v1": on(ingest.notification_acknowledged),
        "registry.notification.due-changed.v1": on(ingest.notification_due_changed),
        "clues.clue.chased.v1": on(ingest.clue_chased),
        "clues.clue.escalated.v1": on(ingest.clue_escalated),
        "clues.clue.deadline-changed.v1": on(ingest.clue_deadline_changed),
        "inspection.result.published.v1": on(ingest.inspection_published),
        "inspection.task.assigned.v1": on(ingest.task_assigned),
        "inspection.result.recorded.v1": on(ingest.result_recorded),
        "inspection.publication.due-changed.v1": on(ingest.publication_due_changed),
        "inspection.draw.abandoned.v1": on(ingest.draw_abandoned),
        "risk.credit-class.changed.v1": on(ingest.credit_class_changed),
        "risk.alert.raised.v1": on(ingest.alert_raised),
        "risk.alert.acknowledged.v1": on(ingest.alert_stepped),
        "risk.alert.responded.v1": on(ingest.alert_stepped),
        "risk.alert.escalated.v1": on(ingest.alert_stepped),
        "risk.alert.respond-by-changed.v1": on(ingest.alert_respond_by_changed),
        "risk.alert.departments-added.v1": on(ingest.alert_departments_added),
        "risk.alert.closed.v1": on(ingest.alert_stepped),
    }
