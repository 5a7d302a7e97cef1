"""The warning stage: assessments per second, CAP documents and CoT events per second.

- loading the regions (GeoJSON -> shapely, STRtree) and computing the five largest
  200 nmi maritime zones, once each;
- the alert manager on a Hwasong-12-like IRBM over Aomori (synthetic tracks every 1 s,
  predicted path every 10 s): milliseconds per assessment (corridor + ellipse + zones,
  plus the widened test while a region is warned);
- CAP 1.2 documents serialised, and validated against the OASIS schema, per second;
- CoT events (track, launch point, impact ellipse, predicted path) built per second.

Writes benchmarks/results/warn.json.

    .venv/bin/python benchmarks/warn.py [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine import describe  # noqa: E402
from meshwarn.geo import regions as regions_mod  # noqa: E402
from meshwarn.warn.alerts import AlertManager  # noqa: E402
from meshwarn.warn.cap import cap_bytes, validate  # noqa: E402
from meshwarn.warn.cot import track_events  # noqa: E402
from meshwarn.warn.synth import tracks_from_truth  # noqa: E402
from tests.test_warn_fixtures import irbm  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "warn.json"


def timed(fn, repeats: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    t0 = time.perf_counter()
    regions = regions_mod.load_regions()
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for country in ("JPN", "KOR", "CHN", "RUS", "PRK"):
        regions.zone(country)
    zones_s = time.perf_counter() - t0

    tracks = tracks_from_truth(irbm(), step_s=1.0)
    alerts: list = []

    def run() -> None:
        manager = AlertManager(regions=regions)
        for t in tracks:
            manager.update(t)
            manager.advance(t.time)
        alerts[:] = manager.issued

    runs = timed(run, args.repeats)
    per_update_ms = statistics.median(runs) / len(tracks) * 1000.0
    by_id = {a.id: a for a in alerts}
    cap_runs = timed(lambda: [validate(cap_bytes(a, by_id)) for a in alerts * 20], args.repeats)
    cap_per_s = len(alerts) * 20 / statistics.median(cap_runs)
    cot_runs = timed(lambda: [track_events(t) for t in tracks], args.repeats)
    cot_per_s = len(tracks) * len(track_events(tracks[0])) / statistics.median(cot_runs)

    result = {
        "machine": describe(),
        "regions_load_s": round(load_s, 3),
        "maritime_zones_5_countries_s": round(zones_s, 3),
        "track_updates": len(tracks),
        "alerts_issued": len(alerts),
        "ms_per_assessment_median": round(per_update_ms, 2),
        "assessments_per_s": round(1000.0 / per_update_ms, 1),
        "cap_documents_validated_per_s": round(cap_per_s, 1),
        "cot_events_per_s": round(cot_per_s, 1),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        if key != "machine":
            print(f"{key:>32}: {value}")
    print(f"{'machine':>32}: {result['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
