"""Looking a name's candidates up by its distinctive pieces first: an entity that look leaves out never scores
more than the look's ceiling, so a first look whose best candidate reaches it settles the match."""

from hypothesis import given, settings, strategies as st

from clues.domain.name_lookup import plan
from clues.domain.text import best_match, match_confidence, search_grams

# Few characters, so that random names share pieces, runs of pieces and whole cores.
CHARS = "好味道安邦餐饮管理"
names = st.text(alphabet=CHARS, min_size=1, max_size=9)
addresses = st.one_of(st.none(), st.text(alphabet="金水路18号", min_size=1, max_size=8))


def test_the_first_look_leaves_out_the_common_pieces():
    shares = {"餐饮": 0.14, "饮管": 0.14, "管理": 0.14, "道餐": 0.002}
    lookup = plan("郑州好味道餐饮管理有限公司", has_address=True, shares=shares, common_share=0.01)
    assert lookup.first == ["味道", "好味", "道餐"]
    assert lookup.pieces == search_grams("好味道餐饮管理")
    # 餐饮管理 is a run of left-out pieces: an entity named so is inside this name (0.9 alike), at the same address.
    assert lookup.ceiling == match_confidence("好味道餐饮管理", "金水路18号", "餐饮管理", "金水路18号") == 0.92
    # One common piece left out: an entity named by it alone shares it (Dice 2 / (4 + 1)), and no more.
    lookup = plan("好味道餐饮", has_address=False, shares={"餐饮": 0.14}, common_share=0.01)
    assert lookup.ceiling == match_confidence("好味道餐饮", None, "餐饮", None) == 0.36
    # Without statistics (a replica never analysed) every piece is looked up at once.
    assert plan("好味道餐饮管理", has_address=True, shares={}, common_share=0.01).ceiling == 0.0


@settings(max_examples=3000, deadline=None)
@given(name=names, address=addresses, other=names, other_address=addresses,
       common=st.sets(st.sampled_from(sorted({a + b for a in CHARS for b in CHARS})), max_size=40))
def test_no_entity_left_out_scores_above_the_ceiling(name, address, other, other_address, common):
    lookup = plan(name, has_address=bool(address), shares={p: 0.2 for p in common}, common_share=0.01)
    shared = set(search_grams(other)) & set(lookup.pieces)  # a candidate when every piece is looked up
    if shared and not shared & set(lookup.first):
        assert match_confidence(name, address, other, other_address) <= lookup.ceiling


@settings(max_examples=2000, deadline=None)
@given(name=names, address=addresses, candidates=st.lists(st.tuples(names, addresses), max_size=12))
def test_the_best_candidate_is_the_first_of_the_highest_scoring(name, address, candidates):
    scores = [match_confidence(name, address, n, a) for n, a in candidates]
    top = max(scores, default=0.0)
    assert best_match(name, address, candidates) == ((scores.index(top), top) if top > 0 else (None, 0.0))
