import pytest
from stdnum.cn import uscc as stdnum_uscc

from jsp_common import uscc

KNOWN_VALID = "91110000600037341L"


def test_known_code_is_valid():
    assert uscc.validate(KNOWN_VALID) == KNOWN_VALID
    assert uscc.validate("9111 0000-6000 37341l") == KNOWN_VALID
    assert uscc.division_code(KNOWN_VALID) == "110000"


def test_code_starting_with_letters_validates_unlike_stdnum():
    code = uscc.with_check_char("N2410105MA9XXXX01")
    assert uscc.is_valid(code)
    assert not stdnum_uscc.is_valid(code)
    assert uscc.division_code(code) == "410105"


def test_changed_check_char_fails_with_expected_message():
    code = uscc.with_check_char("Y1410100MJ0000001")
    wrong = "0" if code[-1] != "0" else "1"
    with pytest.raises(uscc.InvalidUSCC, match=f"expected '{code[-1]}', got '{wrong}'"):
        uscc.validate(code[:-1] + wrong)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("9111000060003734", "18 characters, got 16"),
        ("91110000600O37341L", "illegal character 'O' at position 12"),
        ("911A0000600037341L", "illegal character 'A' at position 4"),
    ],
)
def test_invalid_codes_say_what_is_wrong(code, message):
    with pytest.raises(uscc.InvalidUSCC, match=message):
        uscc.validate(code)
    assert not uscc.is_valid(code)


def test_agrees_with_stdnum_when_first_eight_are_digits():
    for body in ("91410100MA44XXXX0", "52410000000012345", "12410000415800000"):
        assert uscc.calc_check_char(body) == stdnum_uscc.calc_check_digit(body)
        assert stdnum_uscc.is_valid(uscc.with_check_char(body))


@pytest.mark.parametrize(
    ("first17", "message"),
    [
        ("01410100MA0000000", "unknown registering authority '0' at position 1"),
        ("Q1410100MA0000000", "unknown registering authority 'Q' at position 1"),
        ("99410100MA0000000", "entity type '9' at position 2 is not issued by registering authority '9'"),
        ("14410100MA0000000", "entity type '4' at position 2 is not issued by registering authority '1'"),
        ("Y2410100MA0000000", "entity type '2' at position 2 is not issued by registering authority 'Y'"),
    ],
)
def test_a_code_whose_authority_or_entity_type_gb32100_does_not_list_is_refused(first17, message):
    code = first17 + uscc.calc_check_char(first17)  # a correct check character: only positions 1-2 are wrong
    with pytest.raises(uscc.InvalidUSCC, match=message):
        uscc.validate(code)
    assert not uscc.is_valid(code)


@pytest.mark.parametrize("head", ["11", "12", "13", "19", "21", "35", "41", "52", "53", "62", "72", "81",
                                  "91", "92", "93", "A1", "A9", "N1", "N3", "N9", "Y1"])
def test_every_authority_and_entity_type_gb32100_lists_is_accepted(head):
    assert uscc.is_valid(uscc.with_check_char(head + "410100MA0000000"))
