import pytest

from jsp_common import departments as dp
from jsp_common.domains import DOMAINS, Domain


def test_parse_department():
    d = dp.department("samr-410100")
    assert (d.agency.code, d.division_code, d.name) == ("samr", "410100", "郑州市市场监督管理局")
    assert dp.department("samr-410000").name == "河南省市场监督管理局"


@pytest.mark.parametrize("code", ["samr-410105", "nmpa-410100", "xyz-410100", "samr", "samr-999999"])
def test_unknown_departments(code):
    with pytest.raises(dp.UnknownDepartment):
        dp.department(code)


def test_county_resolves_to_city_department():
    assert dp.department_for("samr", "410105").code == "samr-410100"
    assert dp.department_for("mps", "411523").name == "信阳市公安局"
    assert dp.department_for("nmpa", "410105").code == "nmpa-410000"
    assert dp.department_for("samr", "419001").name == "济源市市场监督管理局"
    assert dp.department_for("samr", "410000").code == "samr-410000"


def test_all_departments_round_trip():
    everything = dp.all_departments()
    assert len({d.code for d in everything}) == len(everything)
    assert all(dp.department(d.code) == d for d in everything)
    assert [d.code for d in everything if d.agency.code == "nmpa"] == ["nmpa-410000"]


def test_domains_loaded_from_data():
    assert Domain.FOOD.zh == "食品" and Domain("illegal_finance").zh == "非法金融"
    assert len(DOMAINS) == 9 and all(d.zh for d in DOMAINS)
    assert Domain.DRUGS in dp.agency("nmpa").domains
