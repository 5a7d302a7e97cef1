"""The common picture in a real browser (Debian's chromium driven by Playwright).

Runs a small exercise under two dyads (no KOR-JPN channel), serves it, signs in
as JPN and checks that tracks and alerts appear and that no track JPN is shown
depends on Korean data. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from meshwarn.web.server import CONTROL, Credentials, ViewSource, create_app
from tests.webserver import CHROMIUM, CHROMIUM_ARGS, running

ARTIFACTS = Path(__file__).parents[1] / "test-artifacts"


@pytest.fixture(scope="module")
def two_dyads(two_dyads_run: Path) -> Path:
    return two_dyads_run


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert shutil.which("chromium") or Path(CHROMIUM).exists(), "Debian chromium missing: run `make browser`"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def sign_in(page: Page, base: str, credential: str) -> None:
    page.goto(base + "/")
    page.fill("#credential", credential)
    page.click("#signin button")
    page.wait_for_selector("body[data-ready=true]", timeout=20_000)


def test_jpn_sees_tracks_and_alerts_but_nothing_from_korea(two_dyads: Path, browser: Browser) -> None:
    credentials = Credentials.generate(ViewSource(two_dyads).partners())
    secret = {role: s for s, role in credentials.by_secret.items()}
    with running(create_app(ViewSource(two_dyads), credentials)) as base:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        sign_in(page, base, secret["JPN"])
        panels = page.eval_on_selector_all(".panel", "ps => ps.map(p => p.dataset.partner)")
        assert panels == ["JPN"]
        # Step back to the middle of the flight, when the track is live with its prediction.
        page.fill("#scrub", "500")
        page.dispatch_event("#scrub", "input")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "web-jpn-two-dyads.png"))
        assert int(page.get_attribute("#panel-JPN", "data-tracks")) >= 1
        page.click("#end")
        assert page.locator("#events li.event").count() >= 1
        provenance = page.eval_on_selector_all("tr.track", "rows => rows.map(r => r.dataset.provenance)")
        assert provenance and all("KOR" not in p.split() for p in provenance)
        # Asking for Korea's view directly is refused by the server.
        status = page.evaluate("fetch('/api/views/KOR/messages').then(r => r.status)")
        assert status == 403


def test_exercise_control_sees_views_side_by_side(two_dyads: Path, browser: Browser) -> None:
    credentials = Credentials.generate(ViewSource(two_dyads).partners())
    secret = {role: s for s, role in credentials.by_secret.items()}
    with running(create_app(ViewSource(two_dyads), credentials)) as base:
        page = browser.new_page(viewport={"width": 1800, "height": 1000})
        sign_in(page, base, secret[CONTROL])
        panels = page.eval_on_selector_all(".panel", "ps => ps.map(p => p.dataset.partner)")
        assert panels == ["JPN", "KOR", "USA"]
        page.fill("#scrub", "500")
        page.dispatch_event("#scrub", "input")
        page.screenshot(path=str(ARTIFACTS / "web-control-two-dyads.png"))
        kor_provenance = page.eval_on_selector_all(
            "#panel-USA tr.track", "rows => rows.map(r => r.dataset.provenance)"
        )
        assert any("KOR" in p.split() for p in kor_provenance)  # the US does get Korean data


def test_wrong_credential_is_refused(two_dyads: Path, browser: Browser) -> None:
    credentials = Credentials.generate(ViewSource(two_dyads).partners())
    with running(create_app(ViewSource(two_dyads), credentials)) as base:
        page = browser.new_page()
        page.goto(base + "/")
        page.fill("#credential", "jpn-password")
        page.click("#signin button")
        page.wait_for_function("document.querySelector('#signin-error').textContent.length > 0")
        assert page.locator(".panel").count() == 0
