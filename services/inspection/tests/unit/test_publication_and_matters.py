"""Publication deadlines on the working-day calendar; a matter's particulars checked field by field."""

from __future__ import annotations

from datetime import date

from jsp_common.workdays import WorkCalendar

from inspection.domain import matters, publication

MATTER = {"domain": "food", "division_code": "410100", "kind": "key", "lead_department": "samr-410100",
          "cooperating_departments": ["nhc-410100"],
          "items": [{"code": "S1", "department": "samr-410100"}, {"code": "H1", "department": "nhc-410100"}]}


def test_the_deadline_skips_the_national_day_holidays_and_counts_make_up_working_days():
    cal = WorkCalendar()
    # Fri 26 Sep 2025: Sun 28 Sep is a make-up working day, 1-8 Oct are holidays, Sat 11 Oct works.
    assert publication.due_on(cal, date(2025, 9, 26), 20) == date(2025, 10, 30)
    assert publication.due_on(cal, date(2025, 9, 26), 1) == date(2025, 9, 28)
    plain = WorkCalendar({date(2025, 9, 28): False, date(2025, 10, 11): False})
    assert publication.due_on(plain, date(2025, 9, 26), 20) == date(2025, 11, 3)


def test_overdue_only_when_unpublished_after_the_due_day():
    assert publication.overdue(date(2025, 10, 30), date(2025, 10, 31), published=False)
    assert not publication.overdue(date(2025, 10, 30), date(2025, 10, 30), published=False)
    assert not publication.overdue(date(2025, 10, 30), date(2025, 11, 30), published=True)


def test_a_good_matter_has_no_errors_and_unknown_departments_are_named():
    assert matters.check(MATTER) == []
    bad = {**MATTER, "cooperating_departments": ["nope-410100"], "items": [{"code": "S1", "department": "xx-1"}]}
    fields = {e["field"] for e in matters.check(bad)}
    assert fields == {"cooperating_departments[0]", "items[0].department"}


def test_versions_follow_each_other_and_never_rewrite_history():
    v1 = matters.MatterVersion("M1", 1, "n", "food", "410100", "key", "samr-410100", (), "", (), 1, date(2026, 1, 1))
    today = date(2026, 2, 1)
    assert matters.next_version(None, date(2026, 1, 1), today=today) == (1, [])
    assert matters.next_version(v1, date(2026, 3, 1), today=today) == (2, [])
    assert matters.next_version(v1, date(2026, 1, 1), today=today)[1][0]["field"] == "effective_from"


def test_a_new_version_takes_effect_no_earlier_than_the_day_it_is_published():
    """After its current version, but from a day past: it rewrote what was in effect on the days between."""
    v1 = matters.MatterVersion("M1", 1, "n", "food", "410100", "key", "samr-410100", (), "", (), 1, date(2026, 1, 1))
    today = date(2026, 6, 1)
    number, errors = matters.next_version(v1, date(2026, 3, 1), today=today)
    assert number == 0 and [e["field"] for e in errors] == ["effective_from"]
    assert errors[0].get("conflict") and "2026-06-01" in errors[0]["reason"]   # with what is published: 409
    assert matters.next_version(v1, today, today=today) == (2, [])
    assert matters.next_version(None, date(2025, 1, 1), today=today) == (1, [])  # the first may name a day past


def test_a_city_department_carries_out_its_agencys_items_of_a_province_matter():
    items = (matters.Item("S1", "samr-410000", ""), matters.Item("H1", "nhc-410000", ""))
    m = matters.MatterVersion("M1", 1, "n", "food", "410000", "key", "samr-410000", ("nhc-410000",), "", items, 1,
                              date(2026, 1, 1))
    assert m.items_of("samr-410100") == ("S1",)


def test_a_city_matter_names_that_city_s_departments_and_a_province_matter_the_province_s():
    """A Zhengzhou matter led by Luoyang's bureau or the province's was accepted: Zhengzhou's own departments were
    then refused when they planned, and the manual named the wrong bureau."""
    assert matters.check(MATTER) == []
    for lead in ("samr-410300", "samr-410000"):
        items = [{"code": "S1", "department": lead}, {"code": "H1", "department": "nhc-410100"}]
        errors = matters.check({**MATTER, "lead_department": lead, "items": items})
        assert [e["field"] for e in errors] == ["lead_department"]
        assert lead in errors[0]["reason"] and "410100" in errors[0]["reason"]
    # a province-only agency's department is no city's: a matter that needs it belongs on the province list
    errors = matters.check({**MATTER, "cooperating_departments": ["nhc-410100", "nmpa-410000"]})
    assert [e["field"] for e in errors] == ["cooperating_departments[1]"] and "nmpa-410000" in errors[0]["reason"]

    province = {**MATTER, "division_code": "410000", "lead_department": "samr-410000",
                "cooperating_departments": ["nmpa-410000"],
                "items": [{"code": "S1", "department": "samr-410000"}, {"code": "D1", "department": "nmpa-410000"}]}
    assert matters.check(province) == []
    errors = matters.check({**province, "cooperating_departments": ["nhc-410100"],
                            "items": [{"code": "S1", "department": "samr-410000"}]})
    assert [e["field"] for e in errors] == ["cooperating_departments[0]"] and "nhc-410100" in errors[0]["reason"]
