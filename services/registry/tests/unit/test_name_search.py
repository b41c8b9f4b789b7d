"""How a name search counts its matches: through the bigram index, or by reading names in order when most
names hold the query."""

from registry.domain.name_search import bigrams, count_by_reading_in_order, expected_share

SHARES = {"科技": 0.14, "华安": 0.10, "有限": 0.98, "限公": 0.98}


def test_a_query_most_names_hold_is_counted_by_reading_names_in_order():
    assert bigrams("华安科技") == {"华安", "安科", "科技"}
    assert count_by_reading_in_order("科技", SHARES) and count_by_reading_in_order("有限公", SHARES)
    assert expected_share("有限公", SHARES) == 0.98 * 0.98


def test_a_rare_query_is_counted_through_the_index():
    assert not count_by_reading_in_order("源云", SHARES)                  # not among the commonest: rare
    assert not count_by_reading_in_order("华安科技", SHARES)              # a bigram of it is rare
    assert not count_by_reading_in_order("科技华安", {**SHARES, "技华": 0.3})  # 0.14 × 0.3 × 0.10: 0.4%
    assert not count_by_reading_in_order(None, SHARES) and not count_by_reading_in_order("", SHARES)


def test_a_single_character_has_no_bigram_and_is_read_in_order():
    assert count_by_reading_in_order("味", {})
