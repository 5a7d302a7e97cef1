"""The maritime picture on the common-picture page, in a real browser (Debian's chromium via Playwright)."""

from __future__ import annotations

import json
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


def test_serve_merges_the_maritime_views_beside_a_missile_exercise(
    maritime_dir: Path, tmp_path: Path
) -> None:
    missile = tmp_path / "missile"
    (missile / "views").mkdir(parents=True)
    line = {"kind": "alerts", "partner": "KOR", "time": 1.0, "release": 1.0, "body": {"id": "a1"}}
    (missile / "views" / "KOR.jsonl").write_text(json.dumps(line) + "\n")
    source = ViewSource(missile, extra=(maritime_dir,))
    assert source.partners() == ["JPN", "KOR", "USA"]
    messages, offset = source.read_initial("KOR")
    kinds = {m["kind"] for m in messages}
    assert kinds == {"alerts", "vessel_tracks", "anomalies"}
    assert offset == (missile / "views" / "KOR.jsonl").stat().st_size  # live follows the missile views only
    assert source.read_from("KOR", offset) == ([], offset)
    assert len(source.read_initial("JPN")[0]) == len(ViewSource(maritime_dir).read_from("JPN", 0)[0])


def test_serve_refuses_a_missing_extra_directory(tmp_path: Path, capsys) -> None:
    (tmp_path / "views").mkdir()
    assert main(["serve", str(tmp_path), str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err
