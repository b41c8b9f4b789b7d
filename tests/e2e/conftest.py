"""The platform started as `make run` starts it (deploy/local/run.py: migrate, serve, wait on /readyz), on
test databases and ports of its own, driven through the gateway and the topics as outside systems would."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from dashboard.subscriptions import kafka_groups as dashboard_groups
from jsp_common import clock, topics
from jsp_common.offsets import move_group_to_end
from jsp_common.workdays import WorkCalendar
from jsp_testkit import front_door
from jsp_testkit.testing import local_stack_module, unique

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("registry", "clues", "inspection", "risk", "dashboard", "gateway")
PORTS = {"gateway": int(os.environ.get("JSP_E2E_GATEWAY_PORT", "18000")),
         "registry": int(os.environ.get("JSP_E2E_REGISTRY_PORT", "18101")),
         "clues": int(os.environ.get("JSP_E2E_CLUES_PORT", "18102")),
         "inspection": int(os.environ.get("JSP_E2E_INSPECTION_PORT", "18103")),
         "risk": int(os.environ.get("JSP_E2E_RISK_PORT", "18104")),
         "dashboard": int(os.environ.get("JSP_E2E_DASHBOARD_PORT", "18105"))}


@dataclass(frozen=True)
class ScheduleGap:
    """The first year whose holiday schedule is not known, a working day in it still ahead (the holiday a test
    uploads), and the working days from today that count two days past it."""

    year: int
    holiday: date
    workdays: int


def schedule_gap(today: date) -> ScheduleGap:
    calendar = WorkCalendar()
    year = calendar.known_until(today).year + 1
    holiday = max(date(year, 1, 1), today + timedelta(days=2))
    while holiday.weekday() >= 5:
        holiday += timedelta(days=1)
    return ScheduleGap(year, holiday, calendar.workdays_between(today, holiday) + 2)


SCHEDULE_GAP = schedule_gap(clock.today())


@pytest.fixture(scope="session", name="schedule_gap")
def schedule_gap_fixture() -> ScheduleGap:
    return SCHEDULE_GAP


async def _groups_to_end(client_options: dict) -> None:
    groups = topics.consumer_groups() | dashboard_groups("dashboard.read-model")
    await asyncio.gather(*(move_group_to_end(g, names, **client_options) for g, names in groups.items()))


@pytest.fixture(scope="session")
def stack(settings, kafka_topics):
    run = local_stack_module(ROOT)
    base = settings.postgres_url.rstrip("/")
    s = run.Stack(list(SERVICES), ports=PORTS, log_dir=ROOT / ".local" / "e2e-logs",
                  env={"JSP_LOG_JSON": "true", "JSP_OUTBOX_POLL_INTERVAL_S": "0.1", "JSP_CONNECTION_REPORT_S": "10"},
                  per_service={n: {f"JSP_{n.upper()}_DATABASE_URL": f"{base}/{n}_e2e"} for n in SERVICES})
    # Notifications are due past the next holiday-to-be, and so are clues' return windows, so the working-day
    # schedule test can move them.
    s.services["registry"].env.update(JSP_REGISTRY_ACK_WORKDAYS=str(SCHEDULE_GAP.workdays))
    s.services["clues"].env.update(JSP_CLUES_RETURN_WITHIN_WORKDAYS=str(SCHEDULE_GAP.workdays))
    # rate limits are tested on their own (services/gateway/tests); here they would only slow the fuzzing
    s.services["gateway"].env.update(JSP_GATEWAY_RATE_LIMIT_PER_MINUTE="1000000", JSP_GATEWAY_RATE_LIMIT_BURST="100000")
    # The session's tokens (the office's, the systems') are made once; on a loaded machine the suite runs past
    # the 15-minute lifetime, and every later test would fail with 401. Expiry is tested in services/gateway.
    s.services["gateway"].env.update(JSP_GATEWAY_TOKEN_TTL_S="7200")
    # metrics on a port of their own, as deployed (default: the gateway's port + 464, inside each port block)
    s.services["gateway"].env.update(JSP_GATEWAY_METRICS_PORT=os.environ.get("JSP_E2E_GATEWAY_METRICS_PORT",
                                                                              str(PORTS["gateway"] + 464)))
    # Every consumer group of the stack starts from now: what other tests left on the shared broker (registrations
    # a restore drill sent, events of service instances with databases of their own) is not this platform's, and
    # would not match its services (the dashboard would list another run's notifications beside this one's).
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # its own event loop, beside the session's
        pool.submit(asyncio.run, _groups_to_end(settings.kafka_client_options())).result()
    try:
        s.start_all()
        yield s
    finally:
        s.stop_all()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def front(stack):
    async with httpx.AsyncClient(base_url=stack.services["gateway"].url, timeout=30) as client:
        yield client


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def office(stack, front) -> dict:
    """The first office account, made by the admin command, logged in through the front door."""
    username, password = unique("office"), unique("pw") + "-Aa1"
    await asyncio.to_thread(front_door.create_office_account, stack.services["gateway"].env, username, password)
    return {"headers": await front_door.login(front, username, password)}


class Clients:
    def __init__(self, front: httpx.AsyncClient, office: dict):
        self.front, self.office = front, office

    async def system(self, *roles: str, department: str | None = None) -> dict:
        """A line system registered by the office (admin API) and its token (client credentials)."""
        client_id, headers = await front_door.register_system(self.front, self.office["headers"], name=unique("system"),
                                                              roles=list(roles), department=department)
        return {"client_id": client_id, "headers": headers}


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def clients(front, office) -> Clients:
    return Clients(front, office)
