"""Scores, levels and credit classes of one entity, from its observations (pure).

An observation is one counted fact about an entity (a substantiated clue, a failed inspection item, a
device window out of range) under one indicator, at a moment. An entity's score is the sum over the
model's indicators of ``weight × min(count in the indicator's window, cap)``. Scoring one entity needs only
its own observations, so each incoming event re-scores just the entity it concerns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Mapping

from jsp_common.events.risk import CreditClass, WarningLevel

from .model import CLASSES, INVERTED_SOURCES, RiskModel


@dataclass(frozen=True)
class Observation:
    indicator: str
    at: datetime
    amount: float = 1.0


@dataclass(frozen=True)
class Assessment:
    """An entity's standing under one model version: what the score is made of, its level and class."""

    score: float
    level: WarningLevel | None
    counts: dict[str, float]
    contributions: list[dict] = field(default_factory=list)
    computed_class: CreditClass = CreditClass.A
    class_reasons: list[str] = field(default_factory=list)
    model_version: int = 0


def counts(model: RiskModel, observations: Iterable[Observation], now: datetime) -> dict[str, float]:
    """Observations per indicator within its window (as of ``now``); indicators without any are left out."""
    windows = {i.code: now - timedelta(days=i.window_days) for i in model.indicators}
    until = now + timedelta(minutes=5)
    out: dict[str, float] = {}
    for o in observations:
        since = windows.get(o.indicator)
        if since is not None and since <= o.at <= until:
            out[o.indicator] = out.get(o.indicator, 0.0) + o.amount
    return out


def effective_counts(model: RiskModel, observed: Mapping[str, float]) -> dict[str, float]:
    """What each indicator counts, from the observations counted in its window: the observations themselves,
    except for an inverted indicator (time since the last inspection), which counts 1 when its window holds
    no observation (no inspection published for that long) and 0 when it holds one."""
    out = dict(observed)
    for i in model.indicators:
        if i.source in INVERTED_SOURCES:
            if float(observed.get(i.code, 0.0)) > 0:
                out.pop(i.code, None)
            else:
                out[i.code] = 1.0
    return out


def assess(model: RiskModel, version: int, observed: Mapping[str, float]) -> Assessment:
    """Score, level and computed credit class from the observations counted per indicator."""
    indicator_counts = effective_counts(model, observed)
    contributions, score = [], 0.0
    weights = model.weights
    for code in sorted((c for c in indicator_counts if c in weights), key=lambda c: weights[c][0]):
        n = float(indicator_counts[code])
        if n <= 0:
            continue
        _, weight, cap = weights[code]
        if weight == 0:
            continue                      # counted (a later version may weigh it) but worth no points now
        points = weight * min(n, cap)
        score += points
        contributions.append({"indicator": code, "count": n, "weight": weight, "points": round(points, 4)})
    score = round(score, 4)
    klass, reasons = credit_class(model, score, indicator_counts)
    return Assessment(score=score, level=model.level_for(score), counts=dict(indicator_counts),
                      contributions=contributions, computed_class=klass, class_reasons=reasons, model_version=version)


def credit_class(model: RiskModel, score: float, indicator_counts: Mapping[str, float]) -> tuple[CreditClass, list[str]]:
    """The highest class whose rule holds (the model's ``default_class`` when none does), and the reasons of the
    rules that hold for it."""
    best, reasons = model.default_class, []
    for r in model.credit_rules:
        holds = (score >= r.min_score) if r.min_score is not None else \
            float(indicator_counts.get(r.indicator or "", 0.0)) >= (r.min_count or 0)
        if not holds:
            continue
        if CLASSES.index(r.credit_class) > CLASSES.index(best):
            best, reasons = r.credit_class, [r.reason]
        elif r.credit_class == best:
            reasons.append(r.reason)
    return best, reasons
