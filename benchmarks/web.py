"""The common picture under load: 200 tracks updating once a second, live, in a real browser.

Serves a live exercise directory, appends 200 track updates every second for
DURATION_S seconds while Chromium follows it over server-sent events, and reads
the page's own render times. Writes benchmarks/results/web.json.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright  # noqa: E402

from benchmarks.machine import describe  # noqa: E402
from meshwarn.web.server import Credentials, ViewSource, create_app  # noqa: E402
from tests.webserver import CHROMIUM, CHROMIUM_ARGS, running  # noqa: E402

TRACKS = 200
DURATION_S = 20


def track_line(i: int, t: float) -> str:
    lat = 36.0 + 8.0 * (i / TRACKS) + 0.01 * t
    lon = 128.0 + 12.0 * math.sin(i) + 0.02 * t
    return json.dumps(
        {
            "id": f"T{i:03d}",
            "time": t,
            "status": "confirmed",
            "phase": "ballistic",
            "lat": lat,
            "lon": lon,
            "h": 100e3,
            "velocity_ecef": [100.0, 200.0, 50.0],
            "provenance": ["JPN"],
        }
    )


def writer(path: Path, t0: float, stop: threading.Event) -> None:
    second = 0
    while not stop.is_set() and second < DURATION_S + 5:
        with path.open("a") as f:
            f.write("".join(track_line(i, t0 + second) + "\n" for i in range(TRACKS)))
        second += 1
        stop.wait(1.0)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "views").mkdir()
        view = directory / "views" / "JPN.jsonl"
        view.write_text("")
        credentials = Credentials.generate(["JPN"])
        secret = next(s for s, role in credentials.by_secret.items() if role == "JPN")
        stop = threading.Event()
        with (
            running(create_app(ViewSource(directory, live=True), credentials)) as base,
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(base + "/")
            page.fill("#credential", secret)
            page.click("#signin button")
            page.wait_for_selector("body[data-ready=true]")
            thread = threading.Thread(target=writer, args=(view, time.time(), stop), daemon=True)
            thread.start()
            time.sleep(DURATION_S)
            times = page.evaluate("window.meshwarnStats.renderTimes.slice()")
            shown = int(page.eval_on_selector("#panel-JPN", "e => e.dataset.tracks"))
            # Responsiveness: how long the page takes to answer a click while updates stream in.
            started = time.perf_counter()
            page.click("#play")
            page.wait_for_function("document.querySelector('#play').textContent === 'Pause'")
            click_ms = (time.perf_counter() - started) * 1000
            stop.set()
            browser.close()
    times.sort()
    result = {
        "tracks": TRACKS,
        "updates_per_s": TRACKS,
        "duration_s": DURATION_S,
        "renders": len(times),
        "render_p50_ms": round(times[len(times) // 2], 2) if times else None,
        "render_p99_ms": round(times[int(len(times) * 0.99)], 2) if times else None,
        "click_response_ms": round(click_ms, 1),
        "tracks_shown": shown,
        "machine": describe(),
    }
    print(json.dumps(result, indent=2))
    out = Path(__file__).parent / "results" / "web.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
