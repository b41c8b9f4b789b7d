"""Credit risk classes (信用风险分类, A-D): computed from the model's rules with their inputs kept, corrected by
the office with a reason, published on ``risk.credit-classes.v1`` whenever the class in force changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock, topics
from jsp_common.events.risk import UNRATED_CLASS, CreditClass, CreditClassChanged
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..adapters import repository as repo
from ..domain.scoring import Assessment

SYSTEM = "risk"


def inputs_of(a: Assessment) -> dict:
    return {"score": a.score, "counts": a.counts, "contributions": a.contributions, "rules": a.class_reasons,
            "model_version": a.model_version}


def _changed(standing: dict, new: CreditClass, *, score: float, model_version: int, corrected: bool, reason: str,
             inputs: dict, actor: str, now: datetime) -> tuple[dict, CreditClassChanged]:
    """An entity's class moving to ``new``: its class history row and its event."""
    version = standing["class_version"] + 1
    previous = standing["credit_class"]
    history = dict(uscc=standing["uscc"], class_version=version, credit_class=new.value, previous_class=previous,
                   corrected_by_office=corrected, reason=reason, inputs=inputs, actor=actor, at=now)
    return history, CreditClassChanged(
        uscc=standing["uscc"], credit_class=new, previous_class=CreditClass(previous) if previous else None,
        score=score, model_version=max(model_version, 1), corrected_by_office=corrected, reason=reason[:1000],
        record_version=version, changed_at=now)


async def _change(tx: Tx, standing: dict, new: CreditClass, *, score: float, model_version: int, corrected: bool,
                  reason: str, inputs: dict, actor: str, now: datetime, **extra) -> None:
    history, event = _changed(standing, new, score=score, model_version=model_version, corrected=corrected,
                              reason=reason, inputs=inputs, actor=actor, now=now)
    await repo.update_standing(tx.session, standing["uscc"], credit_class=new.value,
                               class_version=history["class_version"], class_changed_at=now, **extra)
    await repo.add_class_histories(tx.session, [history])
    await tx.emit(topics.CREDIT_CLASSES, event, key=standing["uscc"])
    standing.update(credit_class=new.value, class_version=history["class_version"], **extra)


def follows(standing: dict, a: Assessment) -> bool:
    """Whether the computed class is to be published: it differs from the class in force (an entity with none
    published counts as ``UNRATED_CLASS``), the office has not corrected it, and it is not the first record of an
    entity nothing is known against (no score, no rule holding: it stays unrated)."""
    if standing.get("corrected_class") or (standing["credit_class"] or UNRATED_CLASS) == a.computed_class.value:
        return False
    return not (standing["credit_class"] is None and a.score == 0 and not a.class_reasons)


async def follow(tx: Tx, standing: dict, a: Assessment, *, now: datetime) -> None:
    """Publish the computed class when it differs from the class in force, unless the office corrected it."""
    await follow_many(tx.session, [(tx, standing, a)], now=now)


async def follow_many(session: AsyncSession, entities: list[tuple[Tx, dict, Assessment]], *, now: datetime) -> None:
    """:func:`follow` for many entities (a poll's): the classes that move written with one statement of each
    kind, each entity's event issued through its own transaction."""
    changes = []
    for tx, standing, a in entities:
        if follows(standing, a):
            changes.append((tx, standing, *_changed(
                standing, a.computed_class, score=a.score, model_version=a.model_version, corrected=False,
                reason="; ".join(a.class_reasons) or "no rule holds: the model's default class", inputs=inputs_of(a), actor=SYSTEM,
                now=now)))
    if not changes:
        return
    await repo.set_credit_classes(session, [(h["uscc"], h["credit_class"], h["class_version"]) for *_, h, _ in changes],
                                  now)
    await repo.add_class_histories(session, [h for *_, h, _ in changes])
    for tx, standing, history, event in changes:
        await tx.emit(topics.CREDIT_CLASSES, event, key=standing["uscc"])
        standing.update(credit_class=history["credit_class"], class_version=history["class_version"])


async def correct(tx: Tx, uscc: str, actor: Principal, *, credit_class: CreditClass | None, reason: str) -> dict:
    """The office sets an entity's class by hand (``None``: back to the computed class), with a reason. A USCC
    neither in the directory nor with a standing is 404, nothing written (as :func:`explain` answers for it). The
    same correction in force already (its class and reason: a retry after a lost answer) answers the class as it
    stands, nothing written or published again."""
    standing = await repo.standing(tx.session, uscc, for_update=True)
    if standing is None:
        if await repo.entity(tx.session, uscc) is None:
            raise Problem(404, f"nothing is known about {uscc}: the directory does not hold it")
        standing = await repo.ensure_standing(tx.session, uscc)
    if credit_class is not None and (standing["corrected_class"], standing["correction_reason"],
                                     standing["credit_class"]) == (credit_class.value, reason, credit_class.value):
        return await explain(tx.session, uscc)
    now = clock.now()
    inputs = {"score": standing["score"], "counts": standing["counts"], "rules": standing["class_reasons"],
              "model_version": standing["model_version"], "computed_class": standing["computed_class"]}
    if credit_class is None:
        if not standing["corrected_class"]:
            raise Problem(409, "the class of this entity is not corrected")
        target = CreditClass(standing["computed_class"] or UNRATED_CLASS)
        extra = {"corrected_class": None, "correction_reason": None, "corrected_by": None, "corrected_at": None}
    else:
        target = credit_class
        extra = {"corrected_class": credit_class.value, "correction_reason": reason, "corrected_by": actor.subject,
                 "corrected_at": now}
    await _change(tx, standing, target, score=standing["score"], model_version=standing["model_version"],
                  corrected=credit_class is not None, reason=reason, inputs=inputs, actor=actor.subject, now=now,
                  **extra)
    return await explain(tx.session, uscc)


def unrated(uscc: str) -> dict:
    """The answer for a registered entity nothing is known against: no class published, it counts as
    ``UNRATED_CLASS``; no score, no rule, no history."""
    return {"uscc": uscc, "credit_class": UNRATED_CLASS.value, "rated": False, "class_version": 0,
            "computed_class": None, "score": 0.0, "level": None, "counts": {}, "contributions": {}, "rules": [],
            "model_version": None, "scored_at": None, "correction": None, "history": []}


async def explain(session: AsyncSession, uscc: str) -> dict:
    """Why the entity has its class: the inputs of the class in force, the computed class, any correction."""
    standing = await repo.standing(session, uscc)
    if standing is None:
        if await repo.entity(session, uscc) is None:
            raise Problem(404, f"nothing is known about {uscc}: no class is published for it, so it counts as "
                               f"{UNRATED_CLASS.value} (general risk) until one is")
        return unrated(uscc)
    return {"uscc": uscc, "credit_class": standing["credit_class"] or UNRATED_CLASS.value,
            "rated": standing["credit_class"] is not None, "class_version": standing["class_version"],
            "computed_class": standing["computed_class"], "score": standing["score"], "level": standing["level"],
            "counts": standing["counts"], "contributions": standing["contributions"],
            "rules": standing["class_reasons"], "model_version": standing["model_version"],
            "scored_at": standing["scored_at"],
            "correction": None if not standing["corrected_class"] else {
                "credit_class": standing["corrected_class"], "reason": standing["correction_reason"],
                "by": standing["corrected_by"], "at": standing["corrected_at"]},
            "history": await repo.class_history_of(session, uscc)}
