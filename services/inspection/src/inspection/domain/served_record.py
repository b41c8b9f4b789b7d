"""A joint draw's record as it is served (``GET /public/draws/{id}``): each population the draw kept listed once,
by reference, its members served apart (``…/populations/{n}/{class}``, the bytes whose SHA-256 is its digest), so
the record's size follows the samples and targets, not the populations; and the record with the members put back,
as the replay (``joint.replay``) states them."""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence


def published(rec: Mapping[str, Any]) -> dict[str, Any]:
    """The record as served: each population the draw kept listed once, in ``populations`` (number, credit class,
    size, digest; its members are served apart, the bytes whose SHA-256 is the digest), each plan naming its
    ``population``, its strata without members. Its size follows the samples and targets, not the populations.
    A record with the members in it (of a draw performed before they were kept apart) is served as it is."""
    if not any("population" in s for p in rec["plans"] for s in p["strata"]):
        return dict(rec)
    populations: dict[tuple[int, str], dict[str, Any]] = {}
    plans = []
    for p in rec["plans"]:
        numbers = {s["population"] for s in p["strata"]}
        for s in p["strata"]:
            if s["size"]:
                populations[(s["population"], s["credit_class"])] = {
                    "population": s["population"], "credit_class": s["credit_class"], "size": s["size"],
                    "digest": s["digest"]}
        plans.append({**{k: v for k, v in p.items() if k != "strata"},
                      **({"population": min(numbers)} if numbers else {}),
                      "strata": [{k: v for k, v in s.items() if k not in ("members", "population")}
                                 for s in p["strata"]]})
    out: dict[str, Any] = {}
    for k, v in rec.items():
        if k == "plans":
            out["populations"] = [populations[key] for key in sorted(populations)]
            v = plans
        out[k] = v
    return out


def rendered(rec: Mapping[str, Any]) -> bytes:
    """The record as served (:func:`published`), rendered once as the JSON bytes of the answer's ``record`` (UTF-8,
    compact, as every answer is rendered), kept to be streamed as they are."""
    return json.dumps(published(rec), ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def members_of(kept: bytes) -> list[str]:
    """A kept population's members from its bytes as served (newline-joined UTF-8; none: empty)."""
    return kept.decode("utf-8").split("\n") if kept else []


def with_members(rec: Mapping[str, Any], kept: Mapping[tuple[int, str], Sequence[str]]) -> dict[str, Any]:
    """The served record (:func:`published`) with every stratum's members listed, as the replay states them: those
    of a plan's ``population`` come from ``kept`` ((population, credit class) -> members; a class with none:
    empty). A record that lists its members already is returned as it is."""
    if "populations" not in rec:
        return dict(rec)
    plans = []
    for p in rec["plans"]:
        number = p.get("population")
        plans.append({**{k: v for k, v in p.items() if k != "population"},
                      "strata": [{**s, "members": list(kept.get((number, s["credit_class"]), ()))}
                                 for s in p["strata"]]})
    return {**{k: v for k, v in rec.items() if k != "populations"}, "plans": plans}
