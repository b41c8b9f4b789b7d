"""The outcome back to the source channel (答复), closing (办结) and the revisit (回访): the hotline gets its
answer on its topic, each other channel on its own, the police on theirs for the cases they sent back; linked
duplicates are answered and closed with their first clue; an unsatisfied revisit reopens the clue to its
departments."""

from __future__ import annotations

from jsp_common import clock
from jsp_common.events.clues import ReplyPublished
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal, Role
from jsp_common.problems import Problem

from ..adapters import repository as repo
from ..deps import Deps
from ..domain.lifecycle import State
from ..domain.receipts import reply_topic
from . import access, journal
from .dispatch import send_to_departments


def _default_reply(clue: dict) -> str:
    names = {"substantiated": "属实", "partly": "部分属实", "unsubstantiated": "不属实"}
    return f"经核查，反映情况{names.get(clue['finding'], '')}。处理措施：{clue['measures']}"


async def reply(deps: Deps, tx: Tx, clue_id: str, actor: Principal, *, text: str | None) -> dict:
    """Publish the outcome to the source channel; linked duplicates are answered by the same outcome."""
    clue = await access.load(tx.session, clue_id, actor)
    access.require_lead(clue, actor, office_too=True, what="reply")
    now = clock.now()
    reply_text = text or _default_reply(clue)
    # a new reply has no verdict yet: the caller's satisfaction is recorded by the revisit of this one
    await journal.move(tx, clue, "reply", actor, details={"reply_text": reply_text}, reply_text=reply_text,
                       replied_at=now, satisfaction=None)
    targets = [(clue, None)] + [(d, clue["id"]) for d in await repo.linked_duplicates(tx.session, clue_id,
                                                                                      State.LINKED.value)]
    for target, answered_by in targets:
        if answered_by:
            # answered by the departments that handled the first clue: a revisit reopens it to them (arbitrated
            # if the office arbitrated the first clue: the lead cannot return the same matter through its repeat)
            await journal.move(tx, target, "answer", actor, details={"answered_by": answered_by},
                               finding=clue["finding"], measures=clue["measures"], reply_text=reply_text,
                               replied_at=now, lead_department=clue["lead_department"],
                               co_departments=clue["co_departments"], domain=clue["domain"],
                               arbitrated=clue["arbitrated"])
        if (topic := reply_topic(target["channel"])) is None:
            continue
        await tx.emit(topic, ReplyPublished(
            clue_id=target["id"], channel=target["channel"], channel_ref=target["channel_ref"],
            finding=clue["finding"], measures=clue["measures"], reply_text=reply_text,
            lead_department=clue["lead_department"], replied_at=now, answered_by_clue_id=answered_by),
            key=target["channel_ref"])
    return clue


async def close(deps: Deps, tx: Tx, clue_id: str, actor: Principal) -> dict:
    clue = await access.load(tx.session, clue_id, actor)
    if not actor.has(Role.OFFICE, Role.HOTLINE):
        access.require_lead(clue, actor, office_too=True, what="close this clue")
    now = clock.now()
    await journal.move(tx, clue, "close", actor, closed_at=now)
    for dup in await repo.linked_duplicates(tx.session, clue_id, State.REPLIED.value):
        if dup["round"] == 0:  # answered by this clue (one reopened was dispatched, and replies on its own)
            await journal.move(tx, dup, "close", actor, details={"closed_with": clue_id}, closed_at=now)
    return clue


async def revisit(deps: Deps, tx: Tx, clue_id: str, actor: Principal, *, satisfied: bool, comment: str | None) -> dict:
    """Record the caller's satisfaction (回访); an unsatisfied revisit reopens the clue to its departments."""
    if not actor.has(Role.OFFICE, Role.HOTLINE):
        raise Problem(403, "revisits are recorded by the hotline or the office")
    clue = await access.load(tx.session, clue_id, actor)
    if clue["satisfaction"] is not None:  # one verdict per reply: the next reply awaits a revisit of its own
        raise Problem(409, f"this reply was revisited already ({clue['satisfaction']}); a reply is revisited once",
                      satisfaction=clue["satisfaction"])
    details = {"satisfied": satisfied, "comment": comment}
    if satisfied:
        await journal.move(tx, clue, "revisit", actor, details=details, satisfaction="satisfied")
    else:
        await journal.set_values(tx, clue, satisfaction="unsatisfied")
        await send_to_departments(deps, tx, clue, lead=clue["lead_department"], co=list(clue["co_departments"]),
                                  domain=clue["domain"], actor=actor, note="reopened after an unsatisfied revisit",
                                  record_as="reopen", reopen=True, details=details)
    return clue
