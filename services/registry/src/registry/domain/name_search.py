"""Searching the directory by a piece of a name: how the matches are counted. Pure; no I/O.

The names are indexed by their two-character pieces (bigrams). Counting the matches of a piece most names
hold through that index means first collecting every name holding it (1.4 million of 10 million for 科技:
150 ms before the first is counted), while reading names in table order finds the count's cap within the
first few hundred thousand. Which way is decided from the planner's statistics of the index: the share of names
holding each of the commonest bigrams.
"""

from __future__ import annotations

from collections.abc import Mapping

# Read names in order when the query is expected in at least this share of them: reaching a cap of 10,000
# then reads at most 200,000 names (about 90 ms here); below it, the index is cheaper.
SCAN_FROM_SHARE = 0.05


def bigrams(text: str) -> set[str]:
    """The two-character pieces of ``text`` (as the index's ``name_bigrams`` gives them, duplicates aside)."""
    return {text[i:i + 2] for i in range(len(text) - 1)}


def expected_share(query: str, shares: Mapping[str, float]) -> float:
    """The share of names expected to hold ``query``: its bigrams' shares multiplied (a bigram missing from
    the statistics is rare). A single character has no bigram: the index cannot serve it (1.0, read in order)."""
    pieces = bigrams(query)
    if not pieces:
        return 1.0
    share = 1.0
    for piece in pieces:
        share *= shares.get(piece, 0.0)
    return share


def count_by_reading_in_order(query: str | None, shares: Mapping[str, float]) -> bool:
    """Whether to count the matches of ``query`` by reading names in table order rather than through the index."""
    return bool(query) and expected_share(query, shares) >= SCAN_FROM_SHARE
