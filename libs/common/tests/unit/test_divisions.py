import pytest

from jsp_common import divisions


def test_table_shape():
    assert len(divisions.cities()) == 18  # 17 prefecture-level cities and 济源
    assert sum(d.level == "county" for d in divisions.all_divisions()) == 156
    assert [d.code for d in divisions.children("410100")][:4] == ["410102", "410103", "410104", "410105"]
    assert len(divisions.children("410100")) == 12
    for d in divisions.all_divisions():
        if d.parent_code:
            assert divisions.get(d.parent_code).level in ("province", "city")


def test_lookup():
    assert divisions.get("410105").name == "金水区"
    assert divisions.city_of("410105").name == "郑州市"
    assert divisions.city_of("410100").code == "410100"
    assert divisions.city_of("419001").name == "济源市"
    assert divisions.city_of("410306").name == "洛阳市"  # retired 吉利区 code, still on old USCCs
    with pytest.raises(divisions.UnknownDivision, match="'410199'"):
        divisions.get("410199")
    with pytest.raises(ValueError):
        divisions.city_of("410000")


def test_city_code_is_none_where_there_is_no_city():
    assert divisions.city_code("410306") == "410300"
    assert [divisions.city_code(c) for c in ("410000", "410199x", "110105", "", None)] == [None] * 5


def test_is_henan():
    assert divisions.is_henan("410105") and divisions.is_henan("410306")
    assert not divisions.is_henan("110000") and not divisions.is_henan("4101")


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("河南省郑州市金水区花园路8号", "410105"),
        ("洛阳市某路", "410300"),
        ("郑州市管城区商城路1号", "410104"),  # short form of 管城回族区; 商城路 is not 商城县
        ("安阳县白璧镇", "410522"),
        ("河南安阳", "410500"),  # bare 安阳 is the city, not 安阳县
        ("新乡市辉县市", "410782"),
        ("信阳市新县", "411523"),
        ("偃师市首阳山街道", "410307"),  # former name
        ("郑州南阳路100号", "410100"),  # 南阳路 is a road, not 南阳市
        ("购买的牛奶开封后变质", None),  # 开封 as a verb
        ("江苏省南京市鼓楼区", None),  # not 开封's 鼓楼区
        ("北京市朝阳区", None),
    ],
)
def test_find_in_text(address, code):
    found = divisions.find_in_text(address)
    assert (found.code if found else None) == code
