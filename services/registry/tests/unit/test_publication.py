"""Which rule changes need the office's explicit confirmation, and the phrase that gives it."""

from registry.domain.publication import Consequence, Thresholds, confirmation_phrase, reasons

LIMITS = Thresholds(keep_share=0.5, move_share=0.1)


def test_an_empty_rule_set_always_needs_a_confirmation_naming_the_consequence():
    c = Consequence(rules_in_force=12, rules_after=0, directory=1000, moved=0, to_adjudication=0)
    assert reasons(c, LIMITS) == ["the new version has no enabled rule: every registration would wait for "
                                  "adjudication"]
    assert confirmation_phrase(c) == "publish 0 of 12 rules, moving 0 of 1000 entities, 0 to adjudication"


def test_a_nearly_empty_rule_set_or_one_moving_a_large_share_needs_one():
    nearly_empty = Consequence(rules_in_force=12, rules_after=5, directory=1000, moved=10, to_adjudication=10)
    assert [r.split(" (")[0] for r in reasons(nearly_empty, LIMITS)] == ["the new version keeps 5 of 12 enabled rules"]
    moving = Consequence(rules_in_force=12, rules_after=12, directory=1000, moved=101, to_adjudication=40)
    assert reasons(moving, LIMITS) == ["it moves 101 of 1000 rule-assigned entities (10.1%, more than 10%), "
                                       "40 of them to adjudication"]


def test_an_ordinary_change_needs_none():
    assert reasons(Consequence(12, 13, 1000, 100, 0), LIMITS) == []
    assert reasons(Consequence(12, 6, 1000, 0, 0), LIMITS) == []
    assert reasons(Consequence(0, 3, 0, 0, 0), LIMITS) == []  # the first rules of an empty directory
