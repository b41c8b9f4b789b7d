"""The command dashboard and the public pages, in a real headless Chromium against the running platform:
the office signs in on the page and sees the figures of a demo-like run, follows an overdue clue to its
timeline, and sees a new registration appear without reloading; a department's staff see only their own
department; the public pages need no sign-in; the figures agree with the services' own APIs."""

from __future__ import annotations

import asyncio
import importlib.util
import random
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio
from playwright.async_api import async_playwright, expect

from jsp_common import clock, departments
from jsp_common.db import asyncpg_dsn
from jsp_common.envelope import new_envelope
from jsp_testkit.testing import unique, wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "deploy" / "local"))
from demo_inspection import joint_inspection  # noqa: E402

_spec = importlib.util.spec_from_file_location("dashboard_support", Path(__file__).with_name("dashboard_support.py"))
support = importlib.util.module_from_spec(_spec)
sys.modules["dashboard_support"] = support
_spec.loader.exec_module(support)

LIVE_TIMEOUT_MS = 90_000


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def people(stack, front):
    office, office_headers = await support.office_person(stack)
    zhengzhou = await support.person(front, office_headers, ["department"], support.ZHENGZHOU_SAMR)
    luoyang = await support.person(front, office_headers, ["department"], support.LUOYANG_SAMR)
    return {"office": office, "office_headers": office_headers, "zhengzhou": zhengzhou, "luoyang": luoyang}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def demo(front, clients, people, raw_producer) -> support.Demo:
    """A demo-like run: registrations in two cities, a 12345 work order received 20 days ago (overdue by
    now) and a fresh one, an acknowledgement, a published inspection result, and `make demo`'s joint
    inspection through the inspection service (one result published, one recorded two months ago and not
    published: past its publication deadline)."""
    bureau, hotline = await clients.system("bureau"), await clients.system("hotline")
    # first: its own registrations are not among the latest the page lists, the run's are
    inspection = await joint_inspection(front, people["office_headers"], bureau["headers"], random.Random(), 8)
    assert inspection["unpublished"], "the draw chose one visit only"
    d = support.Demo(zhengzhou=[support.food_business("410102", "郑州") for _ in range(3)],
                     luoyang=[support.food_business("410302", "洛阳") for _ in range(2)], inspection=inspection)
    for data in d.zhengzhou + d.luoyang:
        await support.register(front, bureau["headers"], data)
    d.overdue_order = await support.work_order(front, hotline["headers"], d.zhengzhou[0], days_ago=20)
    d.fresh_order = await support.work_order(front, hotline["headers"], d.luoyang[0], days_ago=0)
    office = people["office_headers"]

    async def routed():
        found = []
        for order in (d.overdue_order, d.fresh_order):
            resp = await front.get("/clues/clues", headers=office, params={"channel": "hotline", "limit": 500})
            hits = [c for c in resp.json() if c["channel_ref"] == order["work_order_no"] and c.get("lead_department")]
            found += hits
        return found if len(found) == 2 else None
    clues = await wait_until(routed, timeout=90, what="both work orders routed to a department")
    d.overdue_order["clue_id"] = next(c["id"] for c in clues if c["channel_ref"] == d.overdue_order["work_order_no"])
    d.fresh_order["clue_id"] = next(c["id"] for c in clues if c["channel_ref"] == d.fresh_order["work_order_no"])

    async def notified():
        resp = await front.get("/registry/notifications", headers=office,
                               params={"uscc": d.zhengzhou[1]["uscc"], "department": support.ZHENGZHOU_SAMR})
        return resp.json()["items"]
    [note] = await wait_until(notified, timeout=90, what="the Zhengzhou department's notification")
    zz = await front.post("/auth/login", json={"username": people["zhengzhou"].username,
                                               "password": people["zhengzhou"].password})
    ack = await front.post(f"/registry/notifications/{note['id']}/acknowledgement",
                           headers={"Authorization": f"Bearer {zz.json()['access_token']}"})
    assert ack.status_code == 200, ack.text

    target = d.luoyang[1]
    result = {"uscc": target["uscc"], "entity_name": target["name"], "task_id": unique("task"),
              "matter_code": "HN-SP-001", "lead_department": support.LUOYANG_SAMR,
              "departments": [support.LUOYANG_SAMR], "inspected_on": clock.today().isoformat(),
              "items": [{"item_code": "SP-01", "department": support.LUOYANG_SAMR, "outcome": "correction_ordered",
                         "note": "进货查验记录不全"}],
              "problems_found": True, "published_at": clock.now().isoformat()}
    env = new_envelope(type="inspection.result.published.v1", source="/jsp/inspection", data=result)
    await raw_producer.send_and_wait("inspection.results.v1", env.to_bytes(), key=target["uscc"].encode())
    d.luoyang[1]["task_id"] = result["task_id"]
    return d


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser():
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=support.chromium_path(), args=["--no-sandbox"])
        try:
            yield b
        finally:
            await b.close()


@pytest_asyncio.fixture(loop_scope="session")
async def contexts(browser):
    """Opens browser contexts as a user in Henan would have them; closes them after the test, failed or not (an
    open page keeps its live-update stream, which would hold the dashboard's shutdown)."""
    opened = []

    async def new(viewport: dict = support.DESKTOP, **options):
        opened.append(await browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai",
                                                **options))
        return opened[-1]
    yield new
    for context in opened:
        await context.close()


def gateway_url(stack) -> str:
    return stack.services["gateway"].url


async def test_the_office_signs_in_sees_the_figures_follows_an_overdue_clue_and_sees_a_new_registration_live(
        stack, front, clients, contexts, people, demo):
    base = gateway_url(stack)
    context = await contexts()
    page = await context.new_page()
    await page.goto(base + "/ui/")
    assert "/ui/login" in page.url  # not signed in: the sign-in page, no token to paste
    await support.shot(page, "login")
    await support.sign_in(page, people["office"])
    cookies = await context.cookies()
    session = [c for c in cookies if c["name"] == "jsp_session"]
    assert session and session[0]["httpOnly"], cookies
    await expect(page.locator("form.who")).to_contain_text("专班办公室 · 专班办公室管理员")  # the account's name

    overdue = page.locator("[data-figure=clues_overdue] b")
    await expect(overdue).not_to_have_text("0", timeout=LIVE_TIMEOUT_MS)  # the read model caught up
    await expect(page.locator("#latest")).to_contain_text(demo.zhengzhou[0]["name"], timeout=LIVE_TIMEOUT_MS)
    await expect(page.locator("table.cities")).to_contain_text("郑州市")
    await support.shot(page, "overview")

    await page.click("[data-figure=clues_overdue]")
    await page.wait_for_url("**/ui/clues?status=overdue")
    row = page.locator(f"tr[data-clue='{demo.overdue_order['clue_id']}']")
    await expect(row).to_contain_text("超期")
    await expect(row).to_contain_text(demo.zhengzhou[0]["name"])  # whom the clue is about, by name
    await support.shot(page, "clues-overdue")
    await page.goto(base + "/ui/clues?status=all&q=" + demo.zhengzhou[0]["name"][2:])  # found by part of that name
    await expect(page.locator(f"tr[data-clue='{demo.overdue_order['clue_id']}']")).to_have_count(1)
    await page.goto(base + "/ui/clues?status=overdue")
    await row.locator("a").first.click()
    await page.wait_for_url(f"**/ui/clues/{demo.overdue_order['clue_id']}")
    timeline = page.locator("ol.timeline")
    await expect(timeline).to_contain_text("接收")
    await expect(timeline).to_contain_text("分派")
    # each step as the office reads it: the platform's own steps named, the details in Chinese
    await expect(timeline).to_contain_text("系统（线索受理）")
    await expect(timeline).to_contain_text("主办：郑州市市场监督管理局")
    await expect(timeline).to_contain_text("按关键词分派：")
    await expect(page.locator("dl.facts")).to_contain_text("已超期")
    await expect(page.locator("dl.facts")).to_contain_text("12345热线")
    await expect(page.locator("dl.facts")).to_contain_text(f"{demo.zhengzhou[0]['name']}（{demo.zhengzhou[0]['uscc']}）")
    await support.shot(page, "clue-timeline")

    await page.click(f"a[href='/ui/entities/{demo.zhengzhou[0]['uscc']}']")
    await expect(page.locator("h1")).to_have_text(demo.zhengzhou[0]["name"])  # the gateway's entity 360
    await expect(page.locator("dl.facts")).to_contain_text(f"{demo.zhengzhou[0]['industry_code']} 粮油零售")
    # the clue's deadline as every page shows one: the day's end in Beijing time, not a UTC timestamp
    clue_line = page.locator(f"li:has(a[href='/ui/clues/{demo.overdue_order['clue_id']}'])")
    await expect(clue_line).to_contain_text(re.compile(r"期限 \d{4}年\d{1,2}月\d{1,2}日 23:59"))
    await support.shot(page, "entity-360")

    await page.goto(base + "/ui/notifications?status=all&q=" + demo.zhengzhou[1]["uscc"])  # found as the office would
    await expect(page.locator("table")).to_contain_text(demo.zhengzhou[1]["name"])
    await support.shot(page, "notifications")
    await page.goto(base + "/ui/adjudication")
    await support.shot(page, "adjudication")
    await page.goto(base + "/ui/inspections")
    await expect(page.locator("table")).to_contain_text(demo.luoyang[1]["name"])
    await support.shot(page, "inspections")
    await page.goto(base + "/ui/")
    await page.click("[data-figure=inspections_publication_overdue]")
    await page.wait_for_url("**/ui/targets?status=publication_overdue")
    late = page.locator(f"tr[data-target='{demo.inspection['task']['id']}/{demo.inspection['unpublished']}']")
    await expect(late).to_have_class("late", timeout=LIVE_TIMEOUT_MS)
    await support.shot(page, "publications-overdue")

    await page.goto(base + "/ui/")
    await expect(page.locator("#live")).to_be_visible(timeout=30_000)  # the event stream is open
    await page.evaluate("window.__notReloaded = true")
    bureau = await clients.system("bureau")
    newcomer = support.food_business("410105", "郑州")
    await support.register(front, bureau["headers"], newcomer)
    await expect(page.locator("#latest")).to_contain_text(newcomer["name"], timeout=LIVE_TIMEOUT_MS)
    assert await page.evaluate("window.__notReloaded === true")  # updated in place, not reloaded

    # Someone typing a search is not interrupted by a change: the page says it has news and updates once they
    # leave the field (every change swapped the page in, their text and focus with it).
    await page.goto(base + "/ui/entities")
    await expect(page.locator("#live")).to_be_visible(timeout=30_000)
    search = page.locator("form.search input[name=q]")
    await search.fill("正在输入")
    later = support.food_business("410105", "郑州")
    await support.register(front, bureau["headers"], later)
    await expect(page.locator("#content")).to_have_attribute("data-stale", "", timeout=LIVE_TIMEOUT_MS)
    await expect(search).to_have_value("正在输入")
    await expect(search).to_be_focused()
    await search.blur()
    await expect(page.locator("table")).to_contain_text(later["name"], timeout=LIVE_TIMEOUT_MS)
    await expect(page.locator("#content")).not_to_have_attribute("data-stale", "")

    phone = await contexts(support.PHONE, storage_state=await context.storage_state())
    small = await phone.new_page()
    await small.goto(base + "/ui/")
    await expect(small.locator("[data-figure=clues_overdue]")).to_be_visible()
    width = await small.evaluate("document.documentElement.scrollWidth")
    assert width <= support.PHONE["width"], f"the page is {width}px wide on a {support.PHONE['width']}px phone"
    await support.shot(small, "overview-phone")


async def test_a_departments_staff_see_only_their_own_department(stack, contexts, people, demo):
    base = gateway_url(stack)
    context = await contexts()
    page = await context.new_page()
    await page.goto(base + "/ui/login")
    await support.sign_in(page, people["luoyang"])
    await expect(page.locator("h1")).to_contain_text("洛阳市市场监督管理局")
    await expect(page.locator("form.who")).to_contain_text(f"{support.LUOYANG_SAMR}值班人员")
    await expect(page.locator("table.departments")).not_to_contain_text("郑州市市场监督管理局")
    await support.shot(page, "overview-department")

    own = demo.fresh_order["clue_id"]
    await page.goto(base + "/ui/clues?status=all")
    await expect(page.locator(f"tr[data-clue='{own}']")).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
    assert await page.locator(f"tr[data-clue='{demo.overdue_order['clue_id']}']").count() == 0

    others = [f"/ui/clues/{demo.overdue_order['clue_id']}", f"/ui/entities/{demo.zhengzhou[0]['uscc']}",
              f"/ui/clues?department={support.ZHENGZHOU_SAMR}", f"/ui/notifications?department={support.ZHENGZHOU_SAMR}",
              "/ui/adjudication"]
    for path in others:
        resp = await page.goto(base + path)
        assert resp.status == 404, path
        await expect(page.locator("h1")).to_have_text("未找到")
    await support.shot(page, "department-not-found")


async def test_a_department_leading_a_clue_for_what_it_is_about_opens_the_business_s_page(
        stack, front, clients, people, demo):
    """A gas leak reported at a restaurant goes to the city's gas authority (by what it is about), though the
    registry names the market regulator for the business: the gas authority opened the business from its clue and
    got 404. It sees the page, with its clue, the registry's part said unavailable."""
    gas = "mohurd-410300"
    lead = departments.department(gas).name
    person = await support.person(front, people["office_headers"], ["department"], gas)
    hotline = await clients.system("hotline")
    business = demo.luoyang[1]
    order = {**support.samples.work_order(business), "urgency": "urgent",
             "content": f"{business['name']}后厨燃气管道漏气，液化气味道很重，存在爆炸隐患。"}
    resp = await front.post("/ingest/work-orders", json={"type": "hotline.work-order.submitted.v1", "data": order},
                            headers={**hotline["headers"], "Idempotency-Key": unique("wo")})
    assert resp.status_code == 202, resp.text
    cookies = await support.session_cookie(gateway_url(stack), person)
    async with httpx.AsyncClient(base_url=gateway_url(stack), cookies=cookies) as http:
        async def page() -> httpx.Response | None:
            got = await http.get(f"/ui/entities/{business['uscc']}", headers={"accept": "text/html"})
            return got if got.status_code == 200 and f"主办 {lead}" in got.text else None
        shown = await wait_until(page, timeout=LIVE_TIMEOUT_MS / 1000, what="the business's page with the clue")
    assert "登记信息仅对其监管部门可见" in shown.text


async def _publish(raw_producer, topic: str, type_: str, source: str, data: dict, key: str) -> None:
    env = new_envelope(type=type_, source=source, data=data)
    await raw_producer.send_and_wait(topic, env.to_bytes(), key=key.encode())


def _alert(entity: dict, level: str, department: str, division: str) -> dict:
    now = clock.now()
    return {"alert_id": unique("RA"), "uscc": entity["uscc"], "level": level, "departments": [department],
            "entity_name": entity["name"], "division_code": division, "previous_level": None, "score": 85.0,
            "model_version": 1, "contributions": [{"indicator": "gas_over_limit", "count": 3, "weight": 30,
                                                   "points": 90}],
            "actions": ["notify_departments", "request_inspection"], "respond_by": (now + timedelta(hours=24)).isoformat(),
            "raised_at": now.isoformat()}


def _assigned(department: str, targets: list[dict], period_end) -> dict:
    return {"task_id": unique("JT"), "draw_id": unique("DR"), "matter_code": "HN-SP-001", "matter_version": 1,
            "lead_department": department, "department": department, "period_start": "2026-01-01",
            "period_end": period_end.isoformat(), "assigned_at": clock.now().isoformat(), "part": 1, "parts": 1,
            "targets": [{"uscc": t["uscc"], "entity_name": t["name"], "address": "河南省", "items": ["SP-01"],
                         "joint_departments": [department], "inspectors": ["IN-1"], "team": ["IN-1", "IN-2"]}
                        for t in targets]}


async def test_risk_alerts_and_joint_inspections_panels_update_live_and_stay_within_a_department(
        stack, contexts, people, demo, raw_producer, front):
    base = gateway_url(stack)
    context = await contexts()
    page = await context.new_page()
    await page.goto(base + "/ui/login")
    await support.sign_in(page, people["office"])
    await expect(page.locator("#live")).to_be_visible(timeout=30_000)
    await page.evaluate("window.__notReloaded = true")
    red, overdue = page.locator("[data-figure=alerts_red] b"), page.locator("[data-figure=inspections_overdue] b")
    before = {"red": await red.inner_text(), "overdue": await overdue.inner_text()}

    zz, ly = demo.zhengzhou[2], demo.luoyang[0]
    zz_alert = _alert(zz, "red", support.ZHENGZHOU_SAMR, "410102")
    ly_alert = _alert(ly, "orange", support.LUOYANG_SAMR, "410302")
    for a in (zz_alert, ly_alert):
        await _publish(raw_producer, "risk.alerts.v1", "risk.alert.raised.v1", "/jsp/risk", a, a["uscc"])
    late = _assigned(support.ZHENGZHOU_SAMR, [zz], clock.today() - timedelta(days=1))       # period over
    planned = _assigned(support.ZHENGZHOU_SAMR, [demo.zhengzhou[1]], clock.today() + timedelta(days=30))
    for task in (late, planned):
        await _publish(raw_producer, f"dept.{support.ZHENGZHOU_SAMR}.inspections.v1", "inspection.task.assigned.v1",
                       "/jsp/inspection", task, task["task_id"])

    # the panels follow without reloading
    await expect(red).not_to_have_text(before["red"], timeout=LIVE_TIMEOUT_MS)
    await expect(overdue).not_to_have_text(before["overdue"], timeout=LIVE_TIMEOUT_MS)
    assert await page.evaluate("window.__notReloaded === true")
    await expect(page.locator("#alerts-panel")).to_contain_text("红色预警")
    await support.shot(page, "overview-panels")

    # every figure drills down to its list, and on to the entity
    await page.click("[data-figure=alerts_red]")
    await page.wait_for_url("**/ui/alerts?state=red")
    row = page.locator(f"tr[data-alert='{zz_alert['alert_id']}']")
    await expect(row).to_contain_text(zz["name"])
    await expect(row).to_contain_text("红色")
    await support.shot(page, "alerts")
    # the alert leads to the entity, whose page shows the alert and its joint-inspection visit
    await row.locator("a").click()
    await page.wait_for_url(f"**/ui/entities/{zz['uscc']}")
    await expect(page.locator("#entity-alerts")).to_contain_text("红色预警")
    await expect(page.locator("#entity-visits")).to_contain_text(late["task_id"])
    # the office corrects the entity's credit class after the alert; its page says so, with the reason
    reason = "燃气泄漏报警后现场核查，整改未完成"
    corrected = await front.post(f"/risk/entities/{zz['uscc']}/credit-class/correction",
                                 headers=people["office_headers"], json={"credit_class": "D", "reason": reason})
    assert corrected.status_code == 200, corrected.text
    await page.reload()
    await expect(page.locator("#credit-class")).to_contain_text("D类（高风险）")
    await expect(page.locator("#credit-class")).to_contain_text(f"专班更正：{reason}")
    await support.shot(page, "entity-credit-class")
    # and lists it among the class D entities once the class reaches the read model
    await page.goto(base + f"/ui/entities?state=D&q={zz['uscc']}")
    await expect(page.locator(f"tr[data-entity='{zz['uscc']}']")).to_contain_text("D类", timeout=LIVE_TIMEOUT_MS)
    await page.goto(base + "/ui/")
    await page.click("[data-figure=inspections_overdue]")
    await page.wait_for_url("**/ui/targets?status=overdue")
    await expect(page.locator(f"tr[data-target='{late['task_id']}/{zz['uscc']}']")).to_contain_text(zz["name"])
    assert await page.locator(f"tr[data-target='{planned['task_id']}/{demo.zhengzhou[1]['uscc']}']").count() == 0
    await page.goto(base + "/ui/targets?status=planned")
    await expect(page.locator(f"tr[data-target='{planned['task_id']}/{demo.zhengzhou[1]['uscc']}']")).to_have_count(1)
    await support.shot(page, "inspections-planned")

    # Luoyang's staff see Luoyang's alert only, and nothing of Zhengzhou's inspections
    context = await contexts()
    page = await context.new_page()
    await page.goto(base + "/ui/login")
    await support.sign_in(page, people["luoyang"])
    await expect(page.locator("[data-figure=alerts_orange] b")).not_to_have_text("0", timeout=LIVE_TIMEOUT_MS)
    await page.goto(base + "/ui/alerts?status=all")
    await expect(page.locator(f"tr[data-alert='{ly_alert['alert_id']}']")).to_have_count(1)
    assert await page.locator(f"tr[data-alert='{zz_alert['alert_id']}']").count() == 0
    for path in (f"/ui/alerts?department={support.ZHENGZHOU_SAMR}", f"/ui/targets?department={support.ZHENGZHOU_SAMR}"):
        resp = await page.goto(base + path)
        assert resp.status == 404, path
    await page.goto(base + "/ui/targets?status=all")
    assert await page.locator(f"tr[data-target^='{late['task_id']}/'], tr[data-target^='{planned['task_id']}/']").count() == 0


async def test_the_public_pages_need_no_sign_in(stack, contexts, demo):
    base = gateway_url(stack)
    context = await contexts()
    page = await context.new_page()
    resp = await page.goto(base + "/ui/public")  # without its slash: the public page on this site, no sign-in
    assert resp.status == 200 and page.url == base + "/ui/public/", page.url
    await expect(page.locator("table")).to_contain_text(demo.luoyang[1]["name"], timeout=LIVE_TIMEOUT_MS)
    await page.fill("input[name=q]", demo.luoyang[1]["name"])
    await page.click("form.search button")
    await expect(page.locator("table tbody tr")).to_have_count(1)
    await expect(page.locator("table")).to_contain_text("发现问题")
    await expect(page.locator("table")).to_contain_text("HN-SP-001")  # a matter not in the list: its code alone
    await support.shot(page, "public-results")
    # A matter in the list: its name beside the code, linked to its service manual, and its items' titles.
    await page.fill("input[name=q]", demo.inspection["matter_code"])
    await page.click("form.search button")
    matter = page.locator("table tbody tr").first.locator("td").nth(2)
    await expect(matter).to_contain_text("餐饮服务食品安全联合抽查")
    await expect(matter).to_contain_text(demo.inspection["matter_code"])
    await page.locator("table tbody tr").first.locator("summary").click()
    await expect(page.locator("table tbody tr").first).to_contain_text("食品经营许可与进货查验")
    await matter.locator("a").click()
    await expect(page.locator("body")).to_contain_text("服务手册", timeout=30_000)

    await page.goto(base + "/ui/public/departments")
    await expect(page.locator(".pager")).to_contain_text("共")
    await page.click("text=下一页")
    await page.wait_for_url("**/ui/public/departments?page=2")
    await expect(page.locator(".pager")).to_contain_text("第 2 /", timeout=30_000)  # a slow page on a busy machine
    await page.goto(base + "/ui/public/departments?q=郑州市市场")
    for topic in ("notifications", "clues", "inspections", "alerts"):  # every topic of its own it subscribes to
        await expect(page.locator("table")).to_contain_text(f"dept.samr-410100.{topic}.v1")
    await support.shot(page, "public-departments")

    await page.goto(base + "/ui/public/matters")
    await expect(page.locator("h1")).to_contain_text("重点监管事项")
    await expect(page.locator("table")).to_contain_text("食品")  # the domain in Chinese, not its code (food)
    await expect(page.locator("table")).not_to_contain_text("food")
    await support.shot(page, "public-matters")


async def test_the_figures_agree_with_the_services(stack, front, people, demo):
    """After the demo-like run, the dashboard's figures (its read model, built from the topics) equal what the
    registry and the clues service answer on their own APIs."""
    seen = await figures_agree(stack, front, people, demo)
    assert seen["dashboard"]["states"] and sum(seen["dashboard"]["pending"].values()) >= 1
    assert seen["dashboard"]["publication_overdue"] == [f"{demo.inspection['task']['id']}/"
                                                        f"{demo.inspection['unpublished']}"]


async def test_the_read_model_rebuilt_from_the_topics_holds_the_runs_items_again(stack, front, people, demo):
    """``python -m dashboard rebuild``, run beside the running dashboard as an operator runs it, replays the topics
    into a new read model and puts it in place: after the live read model lost the run's clue, notifications,
    inspection results and visits, they are back. (The rebuilt model also holds what other tests left on the
    shared broker, so its totals are not compared with this platform's services here; they are above.)"""
    dashboard = stack.services["dashboard"]
    conn = await asyncpg.connect(asyncpg_dsn(dashboard.env["JSP_DASHBOARD_DATABASE_URL"]))
    try:  # what a damaged read model forgot
        await conn.execute("DELETE FROM clues WHERE clue_id = $1", demo.overdue_order["clue_id"])
        await conn.execute("DELETE FROM notifications WHERE uscc = ANY($1::text[])",
                           [d["uscc"] for d in demo.zhengzhou + demo.luoyang])
        await conn.execute("DELETE FROM inspection_results WHERE task_id = $1", demo.inspection["task"]["id"])
        await conn.execute("DELETE FROM inspection_targets WHERE task_id = $1", demo.inspection["task"]["id"])
    finally:
        await conn.close()
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "dashboard", "rebuild"],
                                   env=stack.services["dashboard"].env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "read model rebuilt from the topics and in place" in done.stdout, done.stdout
    cookies = await support.session_cookie(gateway_url(stack), people["office"])
    html = {"accept": "text/html"}
    async with httpx.AsyncClient(base_url=gateway_url(stack), cookies=cookies) as http:
        clue = await http.get(f"/ui/clues/{demo.overdue_order['clue_id']}", headers=html)
        assert clue.status_code == 200 and "接收" in clue.text and "分派" in clue.text
        notes = await http.get("/ui/notifications", headers=html,
                               params={"status": "acknowledged", "q": demo.zhengzhou[1]["uscc"]})
        assert demo.zhengzhou[1]["name"] in notes.text
        results = await http.get("/ui/public/", headers=html, params={"q": demo.luoyang[1]["name"]})
        assert "发现问题" in results.text
        late = await http.get("/ui/targets", headers=html,
                              params={"status": "publication_overdue", "q": demo.inspection["task"]["id"]})
        assert f'data-target="{demo.inspection["task"]["id"]}/{demo.inspection["unpublished"]}"' in late.text


async def figures_agree(stack, front, people, demo) -> dict:
    """Clues by state and the adjudication queue in total; dual notifications pending, per entity of the run
    (the department topics of the shared test broker also carry notifications other tests' registries issued);
    results awaiting publication past their deadline and within it, of the run's joint inspection, against
    the inspection service's list of overdue publications and its task."""
    office = people["office_headers"]
    task_id = demo.inspection["task"]["id"]
    cookies = await support.session_cookie(gateway_url(stack), people["office"])
    usccs = [d["uscc"] for d in demo.zhengzhou + demo.luoyang]

    async def services() -> dict:
        pending = {}
        for uscc in usccs:
            page = (await front.get("/registry/notifications", headers=office,
                                    params={"acknowledged": "false", "uscc": uscc, "page_size": 1})).json()
            pending[uscc] = page["total"]
        queue = (await front.get("/registry/adjudication", headers=office, params={"page_size": 1})).json()["total"]
        states: dict[str, int] = {}
        offset = 0
        while True:
            batch = (await front.get("/clues/clues", headers=office, params={"limit": 500, "offset": offset})).json()
            for c in batch:
                states[c["state"]] = states.get(c["state"], 0) + 1
            if len(batch) < 500:
                break
            offset += 500
        late = (await front.get("/inspection/publications/overdue", headers=office, params={"limit": 500})).json()
        task = (await front.get(f"/inspection/tasks/{task_id}", headers=office)).json()
        awaiting = [t for t in task["targets"] if t["inspected_on"] and not t["published_at"]]
        return {"pending": pending, "queue": queue, "states": states,
                "publication_overdue": sorted(f"{o['task_id']}/{o['uscc']}" for o in late if o["task_id"] == task_id),
                "awaiting": sorted(f"{task_id}/{t['uscc']}" for t in awaiting
                                   if date.fromisoformat(t["due_on"]) >= clock.today())}

    async def dashboard() -> dict:
        async with httpx.AsyncClient(base_url=gateway_url(stack), cookies=cookies) as http:
            f = (await http.get("/ui/figures.json")).json()
            pending = {}
            for uscc in usccs:
                page = await http.get("/ui/notifications", params={"status": "pending", "q": uscc},
                                      headers={"accept": "text/html"})
                pending[uscc] = page.text.count('href="/ui/notifications/')
            targets = {}
            for status in ("publication_overdue", "awaiting"):
                page = await http.get("/ui/targets", params={"status": status, "q": task_id},
                                      headers={"accept": "text/html"})
                targets[status] = sorted(re.findall(r'data-target="([^"]+)"', page.text))
        return {"pending": pending, "queue": f["adjudication"]["open"], "states": f["clue_states"], **targets}

    seen: dict = {}

    async def agree():
        seen["services"], seen["dashboard"] = await services(), await dashboard()
        return seen["services"] == seen["dashboard"]
    try:
        await wait_until(agree, timeout=120, interval=1, what="the dashboard's figures to match the services'")
    except AssertionError:
        pytest.fail(f"services {seen.get('services')} != dashboard {seen.get('dashboard')}")
    return seen
