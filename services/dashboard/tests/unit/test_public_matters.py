"""The public matters page's list is kept: the gateway limits the dashboard's calls per address like any
caller's, so asking it on every view would share one allowance among every visitor of the page."""

from __future__ import annotations

import httpx

from jsp_common.cached import Refreshing

from dashboard.usecases import public
from dashboard.usecases.lists import Filters

MATTERS = [{"code": "HN-001", "name": "校外培训机构监管", "domain": "education"},
           {"code": "HN-002", "name": "燃气安全监管", "domain": "gas"}]


class _Deps:
    def __init__(self, gateway: httpx.AsyncClient, ttl_s: float):
        self.now = 0.0
        self.matters = Refreshing(lambda: public.matters_in_effect(gateway), ttl_s, clock=lambda: self.now)


def _gateway(answers: list[int]) -> tuple[httpx.AsyncClient, list[str]]:
    """A gateway answering each request with the next status of ``answers`` (200: the list); the paths asked."""
    asked: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        status = answers[min(len(asked), len(answers)) - 1]
        return httpx.Response(status, json=MATTERS if status == 200 else {"title": "unavailable"})

    return httpx.AsyncClient(transport=httpx.MockTransport(handle), base_url="http://gateway"), asked


async def test_many_views_ask_the_gateway_once_within_the_cache_time():
    gateway, asked = _gateway([200])
    deps = _Deps(gateway, ttl_s=60)
    pages = [await public.matters(deps, 10, Filters(q=q)) for q in (None, "燃气", None) * 50]
    assert asked == [public.MATTERS_PATH]
    assert pages[0] == (2, MATTERS) and pages[1] == (1, [MATTERS[1]])


async def test_an_unreachable_list_is_kept_too_so_a_spent_allowance_is_not_asked_again_on_every_view():
    """The gateway answering 429 (the dashboard's allowance spent) or the service away: every view asking again
    would keep the allowance spent. The page says the list is unavailable for the cache time, then asks again."""
    gateway, asked = _gateway([429, 200])
    deps = _Deps(gateway, ttl_s=60)
    assert [await public.matters(deps, 10, Filters()) for _ in range(100)] == [None] * 100
    assert len(asked) == 1
    deps.now = 61
    assert await public.matters(deps, 10, Filters()) == (2, MATTERS)
    assert (await public.matter_names(deps.matters)).matters["HN-002"] == "燃气安全监管"
    assert len(asked) == 2  # the names come from the list kept
