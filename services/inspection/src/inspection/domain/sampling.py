"""Credit-based differentiated sampling (信用风险分类监管): the ratio applied to an entity depends on its
credit class, within bands kept as data (``data/credit_bands.csv``); a plan's sample is drawn per class.

An entity the risk service has not rated yet counts as class B. Class A is not proactively checked
(ratio 0) unless the ``proactive_class_a`` setting allows it. A general matter's ratios are capped by the
``general_matter_max_ratio`` setting; the cap wins over a band's minimum (the list says general matters
are strictly limited; key matters have no cap).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Mapping, Sequence

from jsp_common.events.risk import UNRATED_CLASS as _UNRATED

from . import draw

CLASSES = ("A", "B", "C", "D")
UNRATED_CLASS = _UNRATED.value  # an entity the risk service has published no class for


@dataclass(frozen=True)
class Band:
    credit_class: str
    min_ratio: Decimal
    max_ratio: Decimal
    default_ratio: Decimal
    proactive: bool


@cache
def bands() -> dict[str, Band]:
    """The credit bands, from ``data/credit_bands.csv``."""
    with files("inspection").joinpath("data", "credit_bands.csv").open(encoding="utf-8") as fh:
        return {r["credit_class"]: Band(r["credit_class"], Decimal(r["min_ratio"]), Decimal(r["max_ratio"]),
                                        Decimal(r["default_ratio"]), r["proactive"].strip().lower() == "true")
                for r in csv.DictReader(fh)}


class InvalidRatios(ValueError):
    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("; ".join(f"{e['field']}: {e['reason']}" for e in errors))
        self.errors = errors


def resolve_ratios(asked: Mapping[str, float | Decimal] | None, *, key_matter: bool, general_cap: Decimal,
                   proactive_a: bool, band_table: Mapping[str, Band] | None = None) -> dict[str, Decimal]:
    """The ratio per class a plan applies: what it asks for (each within its class's band), else the band's
    default; capped for a general matter. Raises :class:`InvalidRatios` with one error per bad class."""
    table = band_table or bands()
    asked = {k: Decimal(str(v)) for k, v in (asked or {}).items()}
    errors = [{"field": f"ratios.{k}", "reason": f"unknown credit class; one of {', '.join(CLASSES)}"}
              for k in asked if k not in table]
    out: dict[str, Decimal] = {}
    for cls, band in table.items():
        cap = band.max_ratio if key_matter else min(band.max_ratio, general_cap)
        r = asked.get(cls, min(band.default_ratio, cap))
        floor = band.min_ratio if key_matter else min(band.min_ratio, cap)
        if not band.proactive and not proactive_a:
            if cls in asked and r > 0:
                errors.append({"field": f"ratios.{cls}", "reason": f"class {cls} is not proactively checked "
                               "(only on a complaint, a data signal or a referral); its ratio must be 0"})
            r = Decimal(0)
        elif not (floor <= r <= cap):
            errors.append({"field": f"ratios.{cls}", "reason": _outside(cls, r, band, floor, cap, general_cap)})
        out[cls] = r
    if errors:
        raise InvalidRatios(errors)
    return out


def _outside(cls: str, r: Decimal, band: Band, floor: Decimal, cap: Decimal, general_cap: Decimal) -> str:
    """Why ratio ``r`` of class ``cls`` is refused: the ratios allowed, and (a general matter's) why so."""
    if (floor, cap) == (band.min_ratio, band.max_ratio):
        return f"{r} is outside class {cls}'s band {floor}–{cap}"
    allowed = f"is {cap}" if floor == cap else f"is {floor}–{cap}"
    return (f"{r}: class {cls}'s ratio on a general matter {allowed} (its band {band.min_ratio}–{band.max_ratio} "
            f"capped at {general_cap}: a general matter's cap wins over the band)")


@dataclass(frozen=True)
class Candidate:
    """A member of a plan's population: the entity and its credit class at the snapshot."""

    uscc: str
    credit_class: str


@dataclass
class Stratum:
    credit_class: str
    ratio: Decimal
    members: list[str]          # sorted
    snapshot: draw.Snapshot
    sample: list[str] = field(default_factory=list)  # lowest rank first


def stratify(population: Sequence[Candidate], ratios: Mapping[str, Decimal]) -> list[Stratum]:
    """The population split by credit class, each class's members sorted and snapshotted."""
    by_class: dict[str, list[str]] = {c: [] for c in ratios}
    for c in population:
        members = by_class.get(c.credit_class)
        if members is None:
            members = by_class[c.credit_class] = []
        members.append(c.uscc)
    out = []
    for cls in sorted(by_class):
        members = sorted(by_class[cls])  # USCCs are ASCII: code-point order is byte order
        out.append(Stratum(cls, ratios.get(cls, Decimal(0)), members, draw.snapshot(members, already_sorted=True)))
    return out


def draw_strata(seed: str, strata: Sequence[Stratum], ranks: dict[str, bytes] | None = None,
                order: Sequence[str] | None = None) -> list[Stratum]:
    """Fill each stratum's sample: ``sample_size(ratio, size)`` lowest-ranked members. ``order`` (every
    member, lowest rank first) may be given when several plans share one seed: walked instead of ranking."""
    if order is None:
        for s in strata:
            s.sample = draw.take_lowest(seed, s.members, draw.sample_size(s.ratio, len(s.members)), ranks)
        return list(strata)
    fill_samples([list(strata)], order)
    return list(strata)


def fill_samples(plans: Sequence[Sequence[Stratum]], order: Sequence[str]) -> None:
    """Fill the samples of several plans whose strata have the same members class by class (one population),
    from ``order`` (every member, lowest rank first): each stratum takes its first members in that order."""
    if not plans:
        return
    wanted = [[draw.sample_size(s.ratio, len(s.members)) for s in strata] for strata in plans]
    need = [max(w[k] for w in wanted) for k in range(len(plans[0]))]
    index = {s.credit_class: k for k, s in enumerate(plans[0])}
    class_of = {m: index[s.credit_class] for s in plans[0] if need[index[s.credit_class]] for m in s.members}
    ranked: list[list[str]] = [[] for _ in plans[0]]   # each class's members in rank order, as far as needed
    open_classes = sum(1 for n in need if n)
    for m in order:
        if not open_classes:
            break
        k = class_of.get(m)
        if k is not None:
            bucket = ranked[k]
            bucket.append(m)
            if len(bucket) == need[k]:
                open_classes -= 1
                for member in plans[0][k].members:
                    class_of.pop(member, None)
    for strata, w in zip(plans, wanted):
        for k, s in enumerate(strata):
            s.sample = ranked[k][:w[k]]
