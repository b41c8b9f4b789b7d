import pytest
from stdnum.cn import ric

from jsp_common import idcard
from jsp_common.masking import mask_id_number, mask_phone


def _id(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


def test_valid_id_number():
    number = _id("41010519900307123")
    assert idcard.validate(number.lower()) == number
    assert idcard.is_valid(number)


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("4101051990030712", "18 characters"),
        (_id("41010519900230123"), "birth date 19900230"),
        (_id("99010519900307123"), "division code 990105"),
    ],
)
def test_invalid_id_numbers(number, message):
    with pytest.raises(idcard.InvalidIDNumber, match=message):
        idcard.validate(number)


def test_wrong_check_digit():
    number = _id("41010519900307123")
    wrong = "0" if number[-1] != "0" else "1"
    with pytest.raises(idcard.InvalidIDNumber, match="wrong check digit"):
        idcard.validate(number[:-1] + wrong)


def test_mask_id_number_keeps_first_six_and_last_four():
    assert mask_id_number("410102199001011234") == "410102********1234"
    assert mask_id_number("41010219900101123x") == "410102********123X"


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+86 138-1234-5678", "138****5678"),
        ("0371-6789 1234", "********1234"),
        ("123", "***"),
    ],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked
