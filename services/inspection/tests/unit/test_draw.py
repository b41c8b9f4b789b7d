"""The published draw algorithm: a fixed test vector (computed with coreutils' sha256sum, see
docs/inspection-draw.md) and the properties a third party relies on."""

from __future__ import annotations

import hashlib
import random

import pytest

from inspection.domain import draw

SEED = "dfe4550bc2adcfc875d855bc1c24bb330c4f3af3aae5dbf3cdcd418ec6a160dd"
MEMBERS = [f"91410100MA000000{n}A" for n in range(1, 9)]


def test_fixed_vector_seed_hash_snapshot_and_ranks():
    assert draw.seed_hash(SEED) == "9a04d8bcd40c8467df29f9d3face4ec8d5e4529ed3ec6db3f0fe3c04769447d0"
    snap = draw.snapshot(reversed(MEMBERS))
    assert (snap.size, snap.digest) == (8, "3f291d72503a45c8a9adfdc037060bb1dc9d4f82b907077068aba68c991b06b9")
    assert draw.rank(SEED, "91410100MA0000005A").hex() == \
        "0d4c11a2b0a35a3294b7edf749e7edcc535c6599b29a36b94b6d94671fae7895"
    assert draw.take_lowest(SEED, MEMBERS, 3) == ["91410100MA0000005A", "91410100MA0000003A", "91410100MA0000001A"]


def test_the_draw_depends_on_the_seed_and_members_not_their_order():
    members = [f"E{n:05d}" for n in range(2000)]
    shuffled = members[:]
    random.Random(7).shuffle(shuffled)
    assert draw.take_lowest(SEED, members, 50) == draw.take_lowest(SEED, shuffled, 50)
    assert draw.take_lowest(SEED, members, 50) != draw.take_lowest(draw.new_seed(), members, 50)
    ranks = {m: draw.rank(SEED, m) for m in members}
    assert draw.take_lowest(SEED, members, 50, ranks) == draw.take_lowest(SEED, members, 50)


def test_taking_more_than_the_population_takes_everyone_in_rank_order():
    got = draw.take_lowest(SEED, MEMBERS, 100)
    assert sorted(got) == sorted(MEMBERS)
    assert [draw.rank(SEED, m) for m in got] == sorted(draw.rank(SEED, m) for m in got)


@pytest.mark.parametrize("ratio,size,expected", [("0.05", 10, 1), ("0.05", 9, 0), ("0.7", 5, 4),
                                                  ("0.61", 100, 61), ("1", 3, 3), ("0", 10**6, 0)])
def test_sample_size_rounds_half_up_in_decimal(ratio, size, expected):
    assert draw.sample_size(ratio, size) == expected


def test_seeds_are_64_hex_characters():
    assert draw.check_seed(draw.new_seed())
    with pytest.raises(ValueError):
        draw.check_seed("ABC")
    assert draw.seed_hash(SEED) == hashlib.sha256(SEED.encode()).hexdigest()


def test_the_documented_stratum_vector():
    from decimal import Decimal

    from inspection.domain.sampling import Candidate, draw_strata, stratify

    (s,) = draw_strata(SEED, stratify([Candidate(m, "C") for m in MEMBERS], {"C": Decimal("0.3")}))
    assert s.sample == ["91410100MA0000005A", "91410100MA0000003A"]
