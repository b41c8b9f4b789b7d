"""The API's docs page through the gateway, as a line system's developer opens it on a government intranet: every
script, style sheet and icon it loads is served by the platform itself, to anyone, with no token; nothing comes
from the internet (a CDN the intranet cannot reach left the page blank)."""

from __future__ import annotations

import asyncio
import re
import shutil
from html.parser import HTMLParser

from playwright.async_api import async_playwright

from jsp_testkit.testing import serving

from .conftest import is_problem

EXPECTED_TYPE = {"script": ("text/javascript", "application/javascript"), "stylesheet": ("text/css",),
                 "icon": ("image/",)}


class Assets(HTMLParser):
    """What a page loads: (kind, URL) of each script, style sheet and icon."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.found.append(("script", a["src"]))
        elif tag == "link" and a.get("href"):
            rel = (a.get("rel") or "").split()
            self.found.append(("stylesheet" if "stylesheet" in rel else "icon" if "icon" in rel else "link",
                               a["href"]))
        elif tag == "img" and a.get("src"):
            self.found.append(("icon", a["src"]))


def assets_of(html: str) -> list[tuple[str, str]]:
    parser = Assets()
    parser.feed(html)
    return parser.found


async def test_the_docs_page_loads_only_what_the_platform_serves(gw):
    page = await gw.http.get("/docs")  # no token: the API description is public
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), page.text[:300]
    html = page.text
    assert "http://" not in html and "https://" not in html, re.findall(r"https?://[^\s'\"<>]+", html)
    # Swagger UI's validator badge is an image from validator.swagger.io: off
    assert '"validatorUrl": null' in html
    found = assets_of(html)
    assert {kind for kind, _ in found} == {"script", "stylesheet", "icon"}, found
    for kind, url in found:
        assert url.startswith("/") and not url.startswith("//"), url  # from the platform's own address
        asset = await gw.http.get(url)
        assert asset.status_code == 200, (url, asset.status_code, asset.text[:200])
        assert asset.headers["content-type"].startswith(EXPECTED_TYPE[kind]), (url, asset.headers["content-type"])
        assert asset.content, url
    # the document the page shows, and the page Swagger UI's sign-in (OAuth2) returns to
    spec = re.search(r"url: '([^']+)'", html).group(1)
    doc = await gw.http.get(spec)
    assert doc.status_code == 200 and doc.headers["content-type"] == "application/json" and "paths" in doc.json()
    redirect = re.search(r"oauth2RedirectUrl: window\.location\.origin \+ '([^']+)'", html).group(1)
    back = await gw.http.get(redirect)
    assert back.status_code == 200 and back.headers["content-type"].startswith("text/html")
    assert "http://" not in back.text and "https://" not in back.text and not assets_of(back.text)
    # Swagger UI's files take GET (and HEAD) only, as their Allow says
    refused = await gw.http.post(found[0][1])
    assert refused.status_code == 405 and is_problem(refused) and refused.headers["allow"] == "GET"


async def test_the_docs_page_shows_the_api_in_a_browser_cut_off_from_the_internet(gw):
    """In Chromium, every request to anywhere but the gateway refused (an intranet): the page shows the published
    operations (the document is OpenAPI 3.1: a Swagger UI older than 5 shows only that it cannot read it)."""
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed for the page tests: `make browser` installs it"
    elsewhere: list[str] = []
    async with serving(gw.app) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = await browser.new_page()

            async def only_the_gateway(route):
                if route.request.url.startswith(base + "/"):
                    return await route.continue_()
                elsewhere.append(route.request.url)
                await route.abort()

            await page.route("**/*", only_the_gateway)
            await page.goto(base + "/docs")
            departments = page.locator(".opblock-summary-path", has_text=re.compile(r"^/public/departments$"))
            await departments.first.wait_for(timeout=30_000)
            assert await page.locator(".opblock").count() > 50  # the services' routes too (stubs while they are down)
        finally:
            await browser.close()
    assert elsewhere == []


async def test_no_redoc_page_loads_its_script_and_fonts_from_the_internet(gw):
    """ReDoc has no copy the platform could serve itself (its page loaded its script from a CDN and its fonts from
    Google): /docs is the one docs page."""
    answer = await gw.http.get("/redoc")
    assert answer.status_code == 404 and is_problem(answer)


async def test_a_docs_asset_path_does_not_climb_out_of_the_assets(gw):
    """Dot segments under the assets' path, sent as written: nothing outside Swagger UI's files is served."""
    page = await gw.http.get("/docs")
    script = next(url for kind, url in assets_of(page.text) if kind == "script")
    folder = script.rsplit("/", 1)[0]
    async with serving(gw.app) as url:
        host, port = url.removeprefix("http://").split(":")
        for target in (f"{folder}/../../openapi.json", f"{folder}/%2e%2e/%2E%2E/healthz",
                       f"{folder}/../../../../../../etc/passwd", f"{folder}/nothing.js"):
            reader, writer = await asyncio.open_connection(host, int(port))  # sent as written, not resolved
            writer.write(f"GET {target} HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n".encode())
            answer = await reader.read()
            writer.close()
            assert answer.startswith(b"HTTP/1.1 404") and b"application/problem+json" in answer, (target, answer[:300])
