"""The dashboard's pure rules: figures merged by department and city, ping-pong counting, overdue and due
soon, Chinese number and date formats, the division table's colours and the trend chart."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from jsp_common import clock

from dashboard.domain import charts, clue_steps, clues, figures, formats, places

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=clock.TZ)


def test_figures_of_several_areas_make_one_row_per_city_in_order_with_every_city_present():
    cities = list(places.cities())
    rows = figures.merge([{"410100": {"notes_pending": 2}}, {"410100": {"clues_overdue": 1}, "410300": {"clues_open": 4}},
                          {None: {"clues_open": 7}, "999999": {"clues_open": 1}}], cities, places.city_name)
    # every city in order; what has no city (a clue with no place given) in a row of its own, so totals add up
    assert [r.key for r in rows] == [c for c, _ in cities] + [None]
    assert rows[-1].name == "省级/未知" and rows[-1].get("clues_open") == 8
    zhengzhou = rows[0]
    assert (zhengzhou.name, zhengzhou.get("notes_pending"), zhengzhou.get("clues_overdue"), zhengzhou.late) == \
        ("郑州市", 2, 1, 1)
    assert len(cities) == 18 and figures.totals(rows)["clues_open"] == 12


def test_departments_with_late_work_come_first_and_quiet_ones_are_left_out():
    rows = figures.merge([{"samr-410100": {"clues_open": 5}, "samr-410300": {"notes_overdue": 1},
                           "nmpa-410000": {"notes_pending": 0}}], None, places.department_name)
    ordered = figures.busiest_first(rows)
    assert [r.key for r in ordered] == ["samr-410300", "samr-410100"]
    assert ordered[1].name == "郑州市市场监督管理局"


def test_a_dispatch_after_a_return_is_a_redispatch_and_nothing_else_is():
    assert clues.is_return("return")
    assert clues.is_redispatch("redispatch", "returned") and clues.is_redispatch("arbitrate", "returned")
    assert clues.is_redispatch("dispatch", "returned")
    assert not clues.is_redispatch("dispatch", "received")
    assert not clues.is_redispatch("reopen", "closed")


def test_a_clue_is_overdue_only_while_its_deadline_runs():
    past, soon = NOW - timedelta(hours=1), NOW + timedelta(hours=5)
    assert clues.is_overdue("verifying", past, NOW)
    assert not clues.is_overdue("replied", past, NOW)       # answered: the clock stopped
    assert not clues.is_overdue("pending_dispatch", past, NOW)
    assert clues.is_due_soon("accepted", soon, NOW, timedelta(hours=48))
    assert not clues.is_due_soon("accepted", soon, NOW, timedelta(hours=4))


def test_numbers_read_as_chinese_readers_expect():
    assert [formats.number(v) for v in (0, 1234, 99_999, 123_456, 1_000_000, 250_000_000, None)] == \
        ["0", "1,234", "99,999", "12.3万", "100万", "2.5亿", "—"]


def test_moments_are_shown_in_beijing_time_whatever_zone_they_came_in():
    utc = datetime(2026, 11, 30, 16, 30, tzinfo=timezone.utc)
    assert formats.moment(utc) == "2026年12月1日 00:30"
    assert formats.moment("2026-11-30T16:30:00Z") == "2026年12月1日 00:30"
    assert formats.moment(date(2026, 3, 8)) == "2026年3月8日"
    assert formats.moment(None) == "—"


def test_cities_with_more_late_work_are_coloured_deeper():
    shades = [figures.heat(v, 10) for v in (0, 1, 5, 10)]
    assert len(set(shades)) == 4 and shades[0] == figures.heat(0, 0)


def test_waiting_time_in_chinese():
    assert figures.age(NOW - timedelta(days=3, hours=5), NOW) == "3天5小时"
    assert figures.age(NOW - timedelta(minutes=7), NOW) == "7分钟"
    assert figures.age(None, NOW) == "—"


def test_weeks_end_with_the_current_one():
    weeks = figures.weeks(date(2026, 12, 3), 3)  # a Thursday
    assert weeks == [date(2026, 11, 16), date(2026, 11, 23), date(2026, 11, 30)]


def test_the_trend_chart_draws_a_labelled_line_per_series():
    svg = charts.line_chart([date(2026, 11, 23), date(2026, 11, 30)], [("新收线索", [1, 4]), ("双告知发出", [0, 2])])
    assert svg.startswith("<svg") and svg.count("<polyline") == 2
    assert "新收线索" in svg and "11/30" in svg and ">4<" in svg  # the axis reaches the highest value


def test_a_departments_city_comes_from_its_code():
    assert places.department_city("samr-410100") == "410100"
    assert places.department_city("samr-410000") is None


def test_a_clues_step_reads_in_chinese_with_departments_moments_and_shares():
    lines = clue_steps.detail_lines({"match_method": "uscc", "match_confidence": 1.0, "lead": "samr-410100",
                                     "co": ["nhc-410100", "mem-410100"], "arbitrated": False, "note": "按关键词分派：过期",
                                     "new_deadline": "2026-11-20T15:59:59+00:00", "finding": "partly", "comment": "",
                                     "extra_field": 3})
    assert lines == [("匹配方式", "统一社会信用代码"), ("匹配度", "100%"), ("主办", "郑州市市场监督管理局"),
                     ("协办", "郑州市卫生健康委员会、郑州市应急管理局"), ("专班裁定", "否"), ("说明", "按关键词分派：过期"),
                     ("新期限", "2026年11月20日 23:59"), ("核查结论", "部分属实"), ("extra_field", "3")]
    assert clue_steps.actor_label("clues.intake") == "系统（线索受理）"
    assert clue_steps.actor_label("jspc_0123") == "jspc_0123"


def test_an_industry_is_named_by_its_class_or_else_by_its_division():
    assert places.industry_name("6210") == "6210 正餐服务"
    assert places.industry_name("F5212") == "5212 超级市场零售"      # a section-prefixed code, as the bureau may send
    assert places.industry_name("5132") == "5132（批发业）"          # a class the data does not list yet
    assert places.industry_name("ABCD") == "ABCD" and places.industry_name(None) == "—"


def _ascii_words(text: str) -> bool:
    return any("a" <= ch.lower() <= "z" for ch in text)


def test_the_platform_s_own_steps_read_in_chinese_keys_and_values_alike():
    """The details the clues service writes on its own steps: the escalation's office, a return window recounted,
    a duplicate following its first clue, and a recount's reason as jsp_common.schedule_feed.describe words it."""
    escalated = clue_steps.detail_lines({"overdue_workdays": 3, "office": "office-410100"})
    recounted = clue_steps.detail_lines({
        "previous_return_deadline": "2026-12-31T09:30:00+00:00", "return_deadline": "2027-01-04T09:30:00+00:00",
        "provisional": False, "previous_passed": False,
        "reason": "holiday schedule published: 2027 (revision 2, 国办发明电〔2026〕7号), 2028 (revision 1); "
                  "holiday schedule of 2029 in the packaged calendar data"})
    followed = clue_steps.detail_lines({"duplicate_of": "CL-1", "lead": "samr-410100", "co": [], "domain": "food"})
    assert escalated == [("超期工作日", "3"), ("督办部门", "郑州市综合监管工作专班办公室")]
    assert recounted == [("原退回期限", "2026年12月31日 17:30"), ("退回期限", "2027年1月4日 17:30"), ("暂定", "否"),
                         ("原期限已过", "否"),
                         ("原因", "节假日安排公布：2027年（第2版，国办发明电〔2026〕7号）、2028年（第1版）；"
                                  "日历数据所载2029年节假日安排")]
    assert followed == [("重复于", "CL-1"), ("主办", "郑州市市场监督管理局"), ("领域", "食品")]
    for label, value in escalated + recounted + followed[1:]:
        assert not _ascii_words(label) and not _ascii_words(value), (label, value)
    # a reason in words of its own (a department's return) stays as written
    assert clue_steps.detail_lines({"reason": "不属于本部门职责"}) == [("原因", "不属于本部门职责")]
