"""The maritime picture on the common-picture page, in a real browser (Debian's chromium via Playwright)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from meshwarn.cli import main
from meshwarn.web.server import Credentials, ViewSource, create_app
from tests.test_web_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, sign_in
from tests.webserver import running

SMALL = Path(__file__).parent / "data" / "maritime-small.toml"


@pytest.fixture(scope="module")
def maritime_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("maritime-web") / "run"
    assert main(["maritime", "run", str(SMALL), "--agreements", "trilateral", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_korea_sees_vessel_tracks_and_anomalies(maritime_dir: Path, browser: Browser) -> None:
    credentials = Credentials.generate(ViewSource(maritime_dir).partners())
    secret = {role: s for s, role in credentials.by_secret.items()}
    with running(create_app(ViewSource(maritime_dir), credentials)) as base:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        sign_in(page, base, secret["KOR"])
        page.fill("#scrub", "800")
        page.dispatch_event("#scrub", "input")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "web-kor-maritime.png"))
        panel = page.locator("#panel-KOR")
        assert int(panel.get_attribute("data-vessels")) >= 30
        assert int(panel.get_attribute("data-anomalies")) >= 1
        assert int(panel.get_attribute("data-tracks")) == 0  # ships are not drawn as missiles
        page.click("#end")
        kinds = page.eval_on_selector_all("#events li.event.anomaly", "ls => ls.map(l => l.dataset.kind)")
        assert "dark_vessel" in kinds and "spoofing" in kinds
        assert "vessels" in panel.locator(".summary").inner_text()
