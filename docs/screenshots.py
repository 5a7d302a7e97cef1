"""Remake the README's screenshots from a finished `make demo` (out/demo), in Debian's chromium.

    .venv/bin/python docs/screenshots.py [--demo out/demo] [--at-s 420]

docs/img/web-jpn.png: JPN's view, the missile and the maritime picture on one clock;
docs/img/web-control.png: exercise control, the two-dyads run's views side by side.
Both at --at-s seconds after the first launch.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from meshwarn.web.server import CONTROL, Credentials, ViewSource, create_app  # noqa: E402
from tests.webserver import CHROMIUM, CHROMIUM_ARGS, running  # noqa: E402


def shoot(source: ViewSource, role: str, at_s: float, launch: float, path: Path, size: tuple[int, int]) -> None:
    credentials = Credentials.generate(source.partners())
    secret = {r: s for s, r in credentials.by_secret.items()}
    with running(create_app(source, credentials)) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        sign_in(page, base, secret[role])
        t0, t1 = page.evaluate("[state.t0, state.t1]")
        page.fill("#scrub", str(round((launch + at_s - t0) / (t1 - t0) * 1000)))
        page.dispatch_event("#scrub", "input")
        page.screenshot(path=str(path))
        browser.close()
    print(f"wrote {path}")


def sign_in(page: Page, base: str, credential: str) -> None:
    page.goto(base + "/")
    page.fill("#credential", credential)
    page.click("#signin button")
    page.wait_for_selector("body[data-ready=true]", timeout=60_000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", type=Path, default=ROOT / "out" / "demo")
    parser.add_argument("--at-s", type=float, default=420.0, help="seconds after the first launch")
    args = parser.parse_args()
    trilateral = args.demo / "trilateral"
    truth = json.loads((trilateral / "truth.json").read_text())
    launch = min(obj["launch_time"] for obj in truth["objects"])
    images = ROOT / "docs" / "img"
    jpn = ViewSource(trilateral, extra=(args.demo / "maritime",))
    shoot(jpn, "JPN", args.at_s, launch, images / "web-jpn.png", (1400, 860))
    shoot(ViewSource(args.demo / "two-dyads"), CONTROL, args.at_s, launch, images / "web-control.png", (1800, 860))
    return 0


if __name__ == "__main__":
    sys.exit(main())
