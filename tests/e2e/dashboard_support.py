"""What the dashboard's end-to-end tests share: people who log in on the pages, a demo-like run through the
front door, a headless Chromium (Debian's, driven by Playwright) and the screenshots kept as artefacts."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx

from jsp_testkit import front_door, samples
from jsp_common import clock
from jsp_testkit.testing import unique

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / ".local" / "e2e-screenshots"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
ZHENGZHOU_SAMR, LUOYANG_SAMR = "samr-410100", "samr-410300"


@dataclass
class Person:
    username: str
    password: str
    department: str | None = None


@dataclass
class Demo:
    zhengzhou: list[dict] = field(default_factory=list)   # registrations
    luoyang: list[dict] = field(default_factory=list)
    overdue_order: dict = field(default_factory=dict)     # a 12345 work order received 20 days ago
    fresh_order: dict = field(default_factory=dict)
    inspection: dict = field(default_factory=dict)        # a joint inspection: one result published, one late


def food_business(county: str, city_name: str) -> dict:
    data = samples.registration()
    data.update(uscc=samples.new_uscc(county), division_code=county, industry_code="5221",
                business_scope="预包装食品销售；散装食品销售；食品经营",
                name=f"{city_name}{unique('食品')[-6:]}商贸有限公司", address=f"河南省{city_name}市建设路100号",
                # its own licence: the random sample's (a gas operator's, say) made other departments responsible
                licences=[{"type": "食品经营许可证", "number": unique("JY")}])
    return data


async def person(front: httpx.AsyncClient, office_headers: dict, roles: list[str], department: str | None) -> Person:
    username, password = unique("staff"), unique("pw") + "-Aa1"
    resp = await front.post("/admin/clients", headers=office_headers, json={
        "name": f"{department or '专班'}值班人员", "kind": "person", "roles": roles, "department": department,
        "username": username, "password": password})
    assert resp.status_code == 201, resp.text
    return Person(username, password, department)


async def office_person(stack) -> tuple[Person, dict]:
    username, password = unique("office"), unique("pw") + "-Aa1"
    await asyncio.to_thread(front_door.create_office_account, stack.services["gateway"].env, username, password)
    async with httpx.AsyncClient(base_url=stack.services["gateway"].url, timeout=30) as http:
        headers = await front_door.login(http, username, password)
    return Person(username, password), headers


async def register(front: httpx.AsyncClient, bureau: dict, data: dict) -> None:
    resp = await front.post("/ingest/registrations", json={"type": "market.entity.registered.v1", "data": data},
                            headers={**bureau, "Idempotency-Key": unique("reg")})
    assert resp.status_code == 202, resp.text


async def work_order(front: httpx.AsyncClient, hotline: dict, about: dict, days_ago: int) -> dict:
    order = samples.work_order(about)
    order["content"] = f"{about['name']}销售过期食品，消费者购买后发现已过保质期，要求查处。"
    order["received_at"] = (clock.now() - timedelta(days=days_ago)).isoformat()
    order["urgency"] = "normal"
    resp = await front.post("/ingest/work-orders", json={"type": "hotline.work-order.submitted.v1", "data": order},
                            headers={**hotline, "Idempotency-Key": unique("wo")})
    assert resp.status_code == 202, resp.text
    return order


async def session_cookie(gateway_url: str, who: Person) -> httpx.Cookies:
    """Sign in on the page's form as a browser does; the gateway answers with the HttpOnly session cookie."""
    async with httpx.AsyncClient(base_url=gateway_url) as http:
        resp = await http.post("/ui/login", data={"username": who.username, "password": who.password,
                                                  "next": "/ui/"})
        assert resp.status_code == 303 and resp.headers["location"] == "/ui/", resp.text
        return resp.cookies


def chromium_path() -> str:
    path = shutil.which("chromium")
    assert path, "Debian's chromium is needed for the page tests: `make browser` installs it"
    return path


async def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def sign_in(page, who: Person) -> None:
    await page.fill("input[name=username]", who.username)
    await page.fill("input[name=password]", who.password)
    await page.click("form button[type=submit]")
    await page.wait_for_url("**/ui/")
