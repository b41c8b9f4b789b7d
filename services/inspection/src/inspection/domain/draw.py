"""Draws anyone can verify (the way election audits draw their samples).

The published algorithm, over a recorded seed and a recorded snapshot of the population:

* the seed is 64 lowercase hexadecimal characters (32 random bytes); its **seed hash**
  ``SHA-256(seed)`` is published before the draw, the seed itself after it;
* the **snapshot** of a population is its size and ``SHA-256`` of its members sorted (by their UTF-8
  bytes) and joined by ``"\\n"`` (no trailing newline);
* every candidate's **rank** is ``SHA-256(seed || member)``, the hash of the UTF-8 bytes of the seed text
  followed directly by the member text; the draw takes the ``k`` members with the lowest ranks (ranks
  compared as bytes, i.e. as lowercase hex strings; equal ranks by member).

Every text is hashed as its UTF-8 bytes; digests are written as lowercase hex. ``docs/inspection-draw.md``
has a test vector to replay in any language.
"""

from __future__ import annotations

import hashlib
import heapq
import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Sequence

SEED_HEX_CHARS = 64


def new_seed() -> str:
    """A fresh seed: 32 bytes from the operating system's CSPRNG, as lowercase hex."""
    return secrets.token_hex(SEED_HEX_CHARS // 2)


def check_seed(seed: str) -> str:
    if len(seed) != SEED_HEX_CHARS or any(c not in "0123456789abcdef" for c in seed):
        raise ValueError("a seed is 64 lowercase hexadecimal characters")
    return seed


def seed_hash(seed: str) -> str:
    """What is published before the draw: ``SHA-256(seed)``."""
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def rank(seed: str, member: str) -> bytes:
    """``SHA-256(seed || member)`` (raw digest; its hex is what the record shows)."""
    return hashlib.sha256((seed + member).encode("utf-8")).digest()


def ranks(seed: str, members: Iterable[str]) -> dict[str, bytes]:
    """``rank(seed, m)`` for every distinct member (the seed's hash state is computed once)."""
    start = hashlib.sha256(seed.encode("utf-8"))
    out: dict[str, bytes] = {}
    for m in members:
        if m not in out:
            h = start.copy()
            h.update(m.encode("utf-8"))
            out[m] = h.digest()
    return out


@dataclass(frozen=True)
class Snapshot:
    size: int
    digest: str


def snapshot(members: Iterable[str], *, already_sorted: bool = False) -> Snapshot:
    """Size and digest of a population: ``SHA-256`` of the sorted members joined by a newline."""
    ordered = list(members) if already_sorted else sorted(members, key=lambda m: m.encode("utf-8"))
    return Snapshot(len(ordered), hashlib.sha256("\n".join(ordered).encode("utf-8")).hexdigest())


def take_lowest(seed: str, members: Sequence[str], k: int, ranks: dict[str, bytes] | None = None) -> list[str]:
    """The ``k`` members with the lowest rank, lowest first. ``ranks`` (member -> rank) may be given
    when the same seed ranks the same members for several plans: computed once, not per plan."""
    if k <= 0:
        return []
    if ranks is None:
        keyed = ((rank(seed, m), m) for m in members)
    else:
        keyed = ((ranks[m], m) for m in members)
    if k >= len(members):
        return [m for _, m in sorted(keyed)]
    return [m for _, m in heapq.nsmallest(k, keyed)]


def sample_size(ratio: float | Decimal | str, population: int) -> int:
    """How many of ``population`` a ``ratio`` draws: ``ratio × population`` rounded half up (0.05 of 10
    is 1, 0.05 of 9 is 0), computed in decimal so every language gets the same count."""
    exact = Decimal(str(ratio)) * population
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
