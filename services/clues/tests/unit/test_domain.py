"""Pure rules: the state machine, routing, working-day deadlines, similarity, transfers, contracts."""

from __future__ import annotations

import base64
import hashlib
from datetime import date, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from jsp_common.clock import TZ
from jsp_common.domains import Domain
from jsp_common.events.clues import MAX_CONTENT_CHARS, Channel, ClueSubmitted, WorkOrderSubmitted
from jsp_common.masking import mask_name
from jsp_common.workdays import WorkCalendar

from clues.adapters.crypto import PiCipher
from clues.domain import deadlines, lifecycle, transfers
from clues.domain.routing import Route, RoutingInput, Rule, Unroutable, route
from clues.domain.channels import channels_on, misnamed, sender_of
from clues.domain.receipts import receipt_topic, rejection, reply_topic
from clues.domain.text import match_confidence, name_core, name_similarity

RULES = [
    Rule("食品", Domain.FOOD, "samr", priority=1),
    Rule("食物中毒", Domain.FOOD, "samr", ("nhc",), priority=4),
    Rule("燃气", Domain.GAS, "mohurd", ("samr", "mem"), priority=4),
    Rule("电梯", Domain.SPECIAL_EQUIPMENT, "samr", priority=3),
]


def test_state_machine_refuses_with_a_reason():
    assert lifecycle.next_state("dispatched", "accept") is lifecycle.State.ACCEPTED
    assert lifecycle.next_state("closed", "reopen") is lifecycle.State.DISPATCHED
    with pytest.raises(lifecycle.NotAllowed, match="cannot reply a clue that is accepted; allowed only when handled"):
        lifecycle.next_state("accepted", "reply")
    with pytest.raises(lifecycle.NotAllowed):
        lifecycle.next_state("linked", "accept")


def test_routing_by_keywords_place_and_business():
    r = route(RoutingInput("饭店食品变质，全家食物中毒", division_code="410105"), RULES)
    assert isinstance(r, Route) and (r.domain, r.lead, r.co) == (Domain.FOOD, "samr-410100", ("nhc-410100",))
    assert r.reason.startswith("按关键词分派：") and "食物中毒" in r.reason  # what the office and departments read
    # Gas: the more specific domain wins over a generic food word; county → its city's departments.
    r = route(RoutingInput("饭店燃气泄漏，食品加工间有异味", division_code="410302"), RULES)
    assert (r.domain, r.lead, r.co) == (Domain.GAS, "mohurd-410300", ("samr-410300", "mem-410300"))
    # The business's responsible departments join; its own department of the lead agency wins.
    r = route(RoutingInput("电梯困人", division_code="410105", entity_departments=("samr-410200",)), RULES)
    assert r.lead == "samr-410200"
    # A business's name is not evidence of the matter: a gas company's food complaint is about food.
    r = route(RoutingInput("郑州某某燃气有限公司食堂食物中毒", division_code="410105", names=("郑州某某燃气有限公司",)),
              RULES)
    assert r.domain == Domain.FOOD
    # Nothing to go on → the office's manual queue, with the reason.
    u = route(RoutingInput("噪音扰民", division_code="410105"), RULES)
    assert isinstance(u, Unroutable) and "未匹配任何分派规则" in u.reason
    u = route(RoutingInput("食品过期"), RULES)
    assert isinstance(u, Unroutable) and "无法确定事发地" in u.reason


def test_a_domain_hint_alone_goes_to_the_lead_the_domains_rules_name_or_to_the_office():
    rules = [*RULES, Rule("气瓶", Domain.GAS, "samr", ("mohurd",), priority=4),
             Rule("煤气", Domain.GAS, "mohurd", ("samr", "mem"), priority=4),
             Rule("危化品", Domain.HAZARDOUS_CHEMICALS, "mem", ("mee",), priority=4),
             Rule("化工厂", Domain.HAZARDOUS_CHEMICALS, "mem", ("mee",), priority=3),
             Rule("药店", Domain.DRUGS, "samr", ("nmpa",), priority=2),
             Rule("药品批发", Domain.DRUGS, "nmpa", ("samr",), priority=3)]

    def hinted(domain: Domain, division: str = "410102"):
        return route(RoutingInput("某单位问题反映", division_code=division, domain_hint=domain), rules)
    # Hazardous chemicals: emergency management leads, as the rules say (not the first agency listing the domain).
    r = hinted(Domain.HAZARDOUS_CHEMICALS)
    assert isinstance(r, Route) and (r.domain, r.lead) == (Domain.HAZARDOUS_CHEMICALS, "mem-410100")
    assert r.reason == "按来件所报领域（危险化学品）分派"
    # Gas: housing and construction, named by most of the highest-priority gas rules; at a county, its city's.
    assert hinted(Domain.GAS, "410302").lead == "mohurd-410300"
    # Drugs: the lead of the highest-priority rule (the province's drug administration: it has no city offices).
    assert hinted(Domain.DRUGS).lead == "nmpa-410000"
    # A domain without rules, and "other", say nothing of who leads: the office dispatches them by hand.
    for domain in (Domain.ILLEGAL_FINANCE, Domain.OTHER):
        u = hinted(domain)
        assert isinstance(u, Unroutable) and u.domain == domain and "专班办公室人工分派" in u.reason
    # A business's own departments still take a hinted clue, whatever the rules say.
    r = route(RoutingInput("某单位问题反映", division_code="410102", domain_hint=Domain.GAS,
                           entity_departments=("samr-410100",)), rules)
    assert r.lead == "samr-410100"


def test_deadline_counts_working_days_across_national_day():
    cal = WorkCalendar()
    received = datetime(2025, 9, 30, 10, tzinfo=TZ)
    policies = {("*", "normal", "*"): 5, ("*", "urgent", "*"): 1, ("media", "normal", "*"): 3}
    assert deadlines.handling_workdays(policies, "hotline", "normal", None, 9) == 5
    assert deadlines.handling_workdays(policies, "media", "normal", "投诉", 9) == 3
    assert deadlines.handling_workdays(policies, "hotline", "complex", None, 9) == 9
    assert deadlines.handling_deadline(cal, received, 5) == datetime(2025, 10, 14, 23, 59, 59, tzinfo=TZ)
    assert deadlines.handling_deadline(cal, received, 1) == datetime(2025, 10, 9, 23, 59, 59, tzinfo=TZ)


def test_a_clues_extensions_are_limited_in_all_not_each():
    start = datetime(2025, 10, 13, 9, tzinfo=TZ)

    def ext(status: str, workdays: int, days_after: int = 1) -> dict:
        return {"status": status, "workdays": workdays, "requested_at": start + timedelta(days=days_after)}
    assert deadlines.extension_workdays_left([], start, 10) == 10
    # 4 granted, 3 waiting, 5 refused, 2 withdrawn: 3 of the 10 remain (5 + 10 + 10 was possible before)
    asked = [ext("approved", 4), ext("pending", 3), ext("refused", 5), ext("withdrawn", 2)]
    assert deadlines.extension_workdays_left(asked, start, 10) == 3
    assert deadlines.extension_workdays_left([ext("approved", 10), ext("approved", 10)], start, 10) == 0
    # A reopened clue's deadline counts from the reopening: extensions of the deadline before do not count.
    assert deadlines.extension_workdays_left([ext("approved", 10, days_after=-2)], start, 10) == 10
    assert deadlines.extension_workdays_left([ext("approved", 10, days_after=-2)], None, 10) == 0


def test_a_work_orders_category_has_its_own_handling_limit_where_a_policy_names_it():
    # Inquiries 3 and complaints 13 working days in one bureau; the media's general limit 3, everything else 5.
    policies = {("*", "normal", "*"): 5, ("media", "normal", "*"): 3, ("*", "normal", "咨询"): 3,
                ("*", "normal", "投诉"): 13, ("media", "normal", "投诉"): 10}

    def limit(channel: str, category: str | None, urgency: str = "normal") -> int:
        return deadlines.handling_workdays(policies, channel, urgency, category, 9)
    assert (limit("hotline", "咨询"), limit("hotline", "投诉"), limit("hotline", "建议"), limit("hotline", None)) == (
        3, 13, 5, 5)
    # the category's own policy wins over the channel's general one; a channel's own for the category over both
    assert (limit("website", "投诉"), limit("media", "咨询"), limit("media", "投诉"), limit("media", None)) == (
        13, 3, 10, 3)
    assert limit("hotline", "投诉", urgency="urgent") == 9  # none for its urgency: the fallback


def test_a_chaser_the_working_day_after_the_deadline_and_an_escalation_five_working_days_after_the_chaser():
    # Due at the end of Tue 30 Sep 2025; 1-8 Oct are holidays, Sat 11 Oct a make-up working day.
    cal, deadline = WorkCalendar(), datetime(2025, 9, 30, 23, 59, 59, tzinfo=TZ)
    kw = dict(escalated=False, chase_after=1, escalate_after=5)

    def due(now: datetime, chased_at: datetime | None = None):
        return deadlines.due_action(cal, now, deadline, chased_at=chased_at, **kw)
    assert due(datetime(2025, 9, 30, 9, tzinfo=TZ)) is None       # the deadline's own day: nothing yet
    assert due(datetime(2025, 10, 8, 18, tzinfo=TZ)) is None      # passed, but no working day since
    assert due(datetime(2025, 10, 9, 0, 1, tzinfo=TZ)) == deadlines.Chase(1)  # Thu 9 Oct: the working day after
    chased_at = datetime(2025, 10, 9, 0, 1, tzinfo=TZ)
    assert due(datetime(2025, 10, 14, 17, tzinfo=TZ), chased_at) is None  # 10, 11, 13, 14: four working days
    assert due(datetime(2025, 10, 15, 9, tzinfo=TZ), chased_at) == deadlines.Escalate(6)  # the fifth after
    assert deadlines.due_action(cal, datetime(2025, 10, 16, 9, tzinfo=TZ), deadline, chased_at=chased_at,
                                escalated=True, chase_after=1, escalate_after=5) is None


def test_a_clue_chased_late_has_its_working_days_to_answer_the_chaser():
    cal, deadline = WorkCalendar(), datetime(2025, 9, 30, 23, 59, 59, tzinfo=TZ)
    chased_at = datetime(2025, 10, 14, 9, tzinfo=TZ)  # chased late (the scan did not run, say)
    kw = dict(chased_at=chased_at, escalated=False, chase_after=1, escalate_after=5)
    assert deadlines.due_action(cal, datetime(2025, 10, 15, 9, tzinfo=TZ), deadline, **kw) is None
    assert deadlines.due_action(cal, datetime(2025, 10, 20, 9, tzinfo=TZ), deadline, **kw) is None
    assert deadlines.due_action(cal, datetime(2025, 10, 21, 9, tzinfo=TZ), deadline, **kw) == deadlines.Escalate(10)


def test_an_urgent_clue_is_not_chased_as_soon_as_it_is_dispatched():
    cal = WorkCalendar()
    received = datetime(2025, 10, 13, 9, tzinfo=TZ)  # Monday; urgent: one working day, due end of Tuesday
    deadline = deadlines.handling_deadline(cal, received, 1)
    kw = dict(chased_at=None, escalated=False, chase_after=1, escalate_after=5)
    assert deadlines.due_action(cal, received + timedelta(minutes=1), deadline, **kw) is None
    assert deadlines.due_action(cal, datetime(2025, 10, 14, 23, 59, tzinfo=TZ), deadline, **kw) is None
    assert deadlines.due_action(cal, datetime(2025, 10, 15, 9, tzinfo=TZ), deadline, **kw) == deadlines.Chase(1)
    # Due on a Friday: chased on Monday, or, configured to chase as soon as the deadline has passed, on Saturday.
    friday, saturday = datetime(2025, 10, 17, 23, 59, 59, tzinfo=TZ), datetime(2025, 10, 18, 0, 0, 1, tzinfo=TZ)
    assert deadlines.due_action(cal, saturday, friday, **kw) is None
    assert deadlines.due_action(cal, datetime(2025, 10, 20, 8, tzinfo=TZ), friday, **kw) == deadlines.Chase(1)
    assert deadlines.due_action(cal, saturday, friday, **{**kw, "chase_after": 0}) == deadlines.Chase(0)


def test_the_database_bound_selects_exactly_the_clues_something_is_owed_to():
    """What the scan's query selects (a deadline or a chaser before ``due_if_before``) is what due_action owes,
    around a weekend and a holiday with its make-up working day."""
    cal = WorkCalendar()
    first = datetime(2025, 9, 25, tzinfo=TZ)
    moments = [first + timedelta(hours=7 * i) for i in range(100)]
    for n in (0, 1, 2, 5):
        for now in moments:
            bound = deadlines.due_if_before(cal, now, n)
            for day in range(25):
                deadline = datetime(2025, 9, 20, 23, 59, 59, tzinfo=TZ) + timedelta(days=day)
                owed = deadlines.due_action(cal, now, deadline, chased_at=None, escalated=False, chase_after=n,
                                            escalate_after=5)
                assert (deadline < bound) == isinstance(owed, deadlines.Chase), (n, now, deadline)
                chased_at = datetime(2025, 9, 20, 9, tzinfo=TZ) + timedelta(hours=13 * day)
                if chased_at < now:
                    owed = deadlines.due_action(cal, now, min(deadline, chased_at - timedelta(hours=1)),
                                                chased_at=chased_at, escalated=False, chase_after=1, escalate_after=n)
                    assert (chased_at < bound) == isinstance(owed, deadlines.Escalate), (n, now, chased_at)


def test_business_names_match_without_place_and_legal_form():
    assert name_core("郑州市好味道餐饮有限公司") == "好味道餐饮"
    assert name_similarity("好味道餐饮", "郑州好味道餐饮有限公司") == 1.0
    assert name_similarity("好味道餐馆", "郑州好味道餐饮有限公司") >= 0.7
    assert name_similarity("老王烧烤", "郑州好味道餐饮有限公司") < 0.2
    assert match_confidence("好味道餐饮", "金水区农业路18号", "郑州好味道餐饮有限公司", "郑州市金水区农业路18号") > 0.9


def test_transfer_rules():
    both = ["transfer_letter", "investigation_report"]
    assert transfers.check_request(both, ["甲", "乙"], min_team=2) == []
    assert {e["field"] for e in transfers.check_request(["transfer_letter"], ["甲", "甲"], min_team=2)} == {
        "team", "documents"}
    # The team's size is the place's setting: where three officials are required, two are refused.
    assert transfers.check_request(both, ["甲", "乙"], min_team=3) == [
        {"field": "team", "reason": "at least 3 officials form the case team"}]
    with pytest.raises(transfers.TransferNotAllowed, match="cannot hand over a transfer that is pending_approval"):
        transfers.next_status("pending_approval", "hand_over")
    t0 = datetime(2026, 1, 5, 9, tzinfo=TZ)
    assert transfers.overdue_timers("approved", t0 + timedelta(hours=25), approval_deadline=t0,
                                    handover_deadline=t0 + timedelta(hours=24), decision_deadline=None) == ["handover"]
    assert transfers.overdue_timers("handed_over", t0, approval_deadline=None, handover_deadline=None,
                                    decision_deadline=t0 + timedelta(days=3)) == []


def test_intake_contracts_give_field_level_reasons():
    base = {"work_order_no": "ZZ1", "content": "食品过期", "received_at": "2026-03-02T09:00:00+08:00"}
    WorkOrderSubmitted.model_validate(base)

    def fields(**change) -> set[str]:
        with pytest.raises(ValidationError) as exc:
            WorkOrderSubmitted.model_validate({**base, **change})
        return {".".join(map(str, e["loc"])) for e in exc.value.errors()}

    assert fields(content="   ") == {"content"}
    assert fields(content="x" * (MAX_CONTENT_CHARS + 1)) == {"content"}
    assert fields(uscc="91410105MA44AAAA0X") == {"uscc"}
    assert fields(division_code="320102") == {"division_code"}
    assert fields(received_at="2026-03-02T09:00:00") == {"received_at"}
    with pytest.raises(ValidationError, match="channel"):
        ClueSubmitted.model_validate({"channel": "wechat", "channel_ref": "a1", "content": "x",
                                      "received_at": "2026-03-02T09:00:00+08:00"})


def test_rejection_receipt_for_unreadable_message_uses_the_key():
    topic, receipt, key = rejection("hotline.work-orders.v1", "ZZ9", None, "not JSON: ...", None, None)
    assert topic == "hotline.replies.v1" and key == "ZZ9" and receipt.channel == "hotline"
    topic, receipt, _ = rejection("clues.submissions.media.v1", "r1", {"channel": "media"}, "schema-invalid",
                                  [{"field": "content", "reason": "bad"}], "e1")
    assert topic == "clues.replies.media.v1" and receipt.errors[0].field == "content"


def test_each_channel_is_told_on_its_own_topic_and_no_other():
    told = {c: (receipt_topic(c), reply_topic(c)) for c in Channel}
    assert told == {
        "hotline": ("hotline.replies.v1",) * 2, "website": ("clues.replies.website.v1",) * 2,
        "association": ("clues.replies.association.v1",) * 2, "media": ("clues.replies.media.v1",) * 2,
        # the risk and inspection services do not read back; the police send a case back over HTTP (its answer
        # is the receipt) and read its outcome
        "risk": (None, None), "inspection": (None, None),
        "public_security": (None, "clues.replies.public-security.v1")}
    # a refusal on the platform's own services' topic goes to the dead-letter topic only (not to the hotline's or
    # the police's topic), except an outside channel's clue left there from before it had its own topic: that
    # channel is told
    for named in ("wechat", "hotline", "public_security", "risk", None):
        assert rejection("clues.submissions.v1", "r1", {"channel": named}, "schema-invalid", None, None)[0] is None
    assert rejection("clues.submissions.v1", "r1", {"channel": "website"}, "misnamed", None, None)[0] == \
        "clues.replies.website.v1"


def test_a_clue_is_the_channel_of_its_topic_and_names_no_other():
    assert {t: sender_of(t) for t in ("hotline.work-orders.v1", "clues.submissions.website.v1",
                                      "clues.submissions.association.v1", "clues.submissions.media.v1",
                                      "clues.submissions.v1", "clues.replies.media.v1")} == {
        "hotline.work-orders.v1": "hotline", "clues.submissions.website.v1": "website",
        "clues.submissions.association.v1": "association", "clues.submissions.media.v1": "media",
        "clues.submissions.v1": None, "clues.replies.media.v1": None}
    assert channels_on("clues.submissions.v1") == ("risk", "inspection")
    assert channels_on("clues.replies.media.v1") == ()
    assert misnamed("clues.submissions.media.v1", "media") is None
    assert misnamed("clues.submissions.v1", "inspection") is None
    reason = misnamed("clues.submissions.media.v1", "website")
    assert "clues.submissions.media.v1" in reason and "'website'" in reason
    assert misnamed("clues.submissions.v1", "website") is not None
    # a refusal on a channel's topic is answered to that channel, whatever channel the message names
    for named in ("website", "wechat", None):
        topic, receipt, key = rejection("clues.submissions.media.v1", "k1", {"channel": named, "channel_ref": "r1"},
                                        "forged", None, "e1")
        assert (topic, receipt.channel, receipt.channel_ref, key) == ("clues.replies.media.v1", "media", "r1", "r1")


def test_rejection_receipt_key_and_reference_carry_no_nul():
    """The key goes into the outbox's text[] column, which cannot hold NUL: the receipt could not be written. The
    NUL is shown as U+FFFD, not dropped: WO1 would be another work order's number."""
    topic, receipt, key = rejection("hotline.work-orders.v1", "WO\x001", {"work_order_no": "WO\x001"},
                                    "schema-invalid", None, None)
    assert key == "WO\ufffd1" and receipt.channel_ref == "WO\ufffd1"
    _, receipt, key = rejection("clues.submissions.v1", "r\x001", {"channel": "ri\x00sk", "channel_ref": "\x00"},
                                "schema-invalid", None, None)
    assert key == "\ufffd" and receipt.channel_ref == "\ufffd" and receipt.channel == "ri\ufffdsk"


def test_personal_information_encrypted_and_rotatable():
    old = PiCipher(["old-secret"])
    token = old.encrypt("13812345678")
    assert b"13812345678" not in token and token != old.encrypt("13812345678")  # a new nonce each time
    rotated = PiCipher(["new-secret", "old-secret"])
    assert rotated.decrypt(token) == "13812345678"
    assert PiCipher(["new-secret"]).decrypt(rotated.encrypt("张三丰")) == "张三丰"
    # A token written in the earlier format (Fernet, the same secret) still decrypts.
    earlier = Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"old-secret").digest())).encrypt("13812345678".encode())
    assert rotated.decrypt(earlier) == "13812345678"
    tampered = token[:-1] + bytes([token[-1] ^ 1])
    for cipher, t in ((PiCipher(["other"]), token), (PiCipher(["other"]), earlier), (old, tampered),
                      (old, token[:20])):
        with pytest.raises(ValueError):
            cipher.decrypt(t)
    assert mask_name("张三丰") == "张**"


def test_placeholder_key_refused_in_production():
    from clues.settings import Settings

    Settings().check()  # development: the placeholder is fine
    with pytest.raises(ValueError, match="pi_key"):
        Settings(environment="production").check()
    Settings(environment="production", pi_keys=["a-real-secret-from-the-vault"]).check()


def test_intake_refuses_control_characters_and_impossible_times():
    base = {"work_order_no": "ZZ1", "content": "食品过期", "received_at": "2026-03-02T09:00:00+08:00"}
    for change in ({"content": "食品\x00过期"}, {"received_at": "9999-12-31T00:00:00+08:00"},
                   {"received_at": "1999-12-31T00:00:00+08:00"}):
        with pytest.raises(ValidationError):
            WorkOrderSubmitted.model_validate({**base, **change})
    WorkOrderSubmitted.model_validate({**base, "content": "第一行\n第二行\t完"})


def test_a_deadline_counted_through_an_unpublished_year_is_provisional_until_its_schedule_arrives():
    from jsp_common import holidays
    from clues.domain import deadlines as dl
    far = 2095  # Mon 3 Jan 2095 ... a year chinese_calendar does not know
    cal = WorkCalendar()
    cal.apply(holidays.schedule(far - 1, [date(far - 1, 10, 1)], []))
    received = datetime(far - 1, 12, 28, 9, 0, tzinfo=TZ)  # Tuesday
    first = dl.counted(cal, received, 5)  # Wed 29, Thu 30, Fri 31, Mon 3, Tue 4 Jan (Monday to Friday)
    assert first.at == datetime(far, 1, 4, 23, 59, 59, tzinfo=TZ) and first.provisional
    assert dl.recount(cal, first) is None  # nothing new: nothing to announce
    cal.apply(holidays.schedule(far, [date(far, 1, 1), date(far, 1, 3)], []))
    again = dl.recount(cal, first)
    assert again is not None and not again.provisional
    assert again.at == datetime(far, 1, 5, 23, 59, 59, tzinfo=TZ)  # one working day later: 3 Jan is a holiday
    assert dl.extended(cal, again, 2).at == datetime(far, 1, 7, 23, 59, 59, tzinfo=TZ)


def test_transfer_timers_count_working_days_and_run_out_after_their_last_day():
    """Asked Wed 30 Sep 2026 at 16:00: three days were over on Sat 3 Oct at 16:00, in the middle of the National
    Day holiday (1-7 Oct). Three working days end with Sat 10 Oct (Thu 8, Fri 9 and the make-up Saturday)."""
    cal = WorkCalendar()
    asked = datetime(2026, 9, 30, 16, tzinfo=TZ)
    approval = deadlines.counted(cal, asked, 3)
    assert (approval.at, approval.provisional) == (datetime(2026, 10, 10, 23, 59, 59, tzinfo=TZ), False)
    columns = approval.columns("approval_deadline")
    assert columns == {"approval_deadline": approval.at, "approval_deadline_from": asked,
                       "approval_deadline_workdays": 3, "approval_deadline_provisional": False}
    assert deadlines.kept(columns, "approval_deadline") == approval
    assert deadlines.kept(deadlines.unset("decision_deadline"), "decision_deadline") is None

    def overdue(now: datetime) -> list[str]:
        return transfers.overdue_timers("pending_approval", now, approval_deadline=approval.at,
                                        handover_deadline=None, decision_deadline=None)
    assert overdue(datetime(2026, 10, 3, 16, 1, tzinfo=TZ)) == []
    assert overdue(datetime(2026, 10, 10, 23, 59, 59, tzinfo=TZ)) == []  # the whole last day
    assert overdue(datetime(2026, 10, 11, 0, 0, tzinfo=TZ)) == ["approval"]
    # An ordinary week: handed over on Monday at 9:00, the police decide by the end of Thursday, not Thursday 9:00.
    handed_over = datetime(2026, 11, 2, 9, tzinfo=TZ)
    assert deadlines.counted(cal, handed_over, 3).at == datetime(2026, 11, 5, 23, 59, 59, tzinfo=TZ)
    assert set(transfers.WORKDAY_DEADLINES.values()) == {"approval_deadline", "decision_deadline"}


def test_a_return_window_counted_into_an_unpublished_year_is_counted_again_when_it_arrives():
    """Dispatched on the last Thursday of a year whose next year's schedule is not out: two working days counted
    Monday to Friday end on Monday 4 January. The schedule then makes 1 January a holiday: Tuesday 5 January."""
    from jsp_common import holidays
    year = 2082  # 31 Dec 2082 is a Thursday, as 31 Dec 2026; a year chinese_calendar does not know
    cal = WorkCalendar()
    cal.apply(holidays.schedule(year, [date(year, 10, 1)], []))
    dispatched = datetime(year, 12, 31, 10, tzinfo=TZ)
    window = deadlines.counted(cal, dispatched, 2)
    assert (window.at, window.provisional) == (datetime(year + 1, 1, 4, 23, 59, 59, tzinfo=TZ), True)
    cal.apply(holidays.schedule(year + 1, [date(year + 1, 1, 1), date(year + 1, 1, 2), date(year + 1, 1, 3)], []))
    again = deadlines.recount(cal, deadlines.kept(window.columns("return_deadline"), "return_deadline"))
    assert again == deadlines.Deadline(datetime(year + 1, 1, 5, 23, 59, 59, tzinfo=TZ), dispatched, 2, False)
