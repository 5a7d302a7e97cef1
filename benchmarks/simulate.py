"""Reports simulated per second, on the shipped salvo scenario (five SRBMs, twelve sensors).

Solving the launches (root finding on the flight model) is timed once and reported
apart; the figure of merit is the simulation proper: every sensor observing every
missile, false alarms, own-unit positions and the links' delivery, repeated with
the solved missiles and the best and median of the repeats kept. Writing the
exercise files (JSON encoding) is timed separately. Writes benchmarks/results/simulate.json.

    .venv/bin/python benchmarks/simulate.py [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine import describe  # noqa: E402
from meshwarn.sim.scenario import load_scenario  # noqa: E402
from meshwarn.sim.simulate import simulate, solve_all, write  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "simulate.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--scenario", default="srbm-salvo")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)

    t0 = time.perf_counter()
    targets = solve_all(scenario)
    solve_s = time.perf_counter() - t0

    runs = []
    for seed in range(args.repeats):
        t0 = time.perf_counter()
        sim = simulate(scenario, seed=seed, targets=targets)
        runs.append((time.perf_counter() - t0, len(sim.deliveries)))
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        write(sim, Path(out))
        write_s = time.perf_counter() - t0

    rates = [n / s for s, n in runs]
    reports = runs[-1][1]
    result = {
        "benchmark": "simulate",
        "scenario": scenario.name,
        "missiles": len(scenario.launches),
        "sensors": len(scenario.sensors),
        "reports_per_run": reports,
        "repeats": args.repeats,
        "solve_launches_s": round(solve_s, 3),
        "simulate_s_median": round(statistics.median(s for s, _ in runs), 4),
        "reports_per_s_median": round(statistics.median(rates)),
        "reports_per_s_best": round(max(rates)),
        "reports_per_s_including_solve": round(reports / (solve_s + statistics.median(s for s, _ in runs))),
        "write_files_s": round(write_s, 4),
        "machine": describe(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{scenario.name}: {reports} reports from {result['missiles']} missiles and {result['sensors']} sensors\n"
        f"  solving the launches: {solve_s:.2f} s (once)\n"
        f"  simulating: median {result['simulate_s_median'] * 1000:.0f} ms per run -> "
        f"{result['reports_per_s_median']:,} reports/s (best {result['reports_per_s_best']:,})\n"
        f"  with the solving: {result['reports_per_s_including_solve']:,} reports/s; "
        f"writing the files: {write_s * 1000:.0f} ms\n"
        f"wrote {RESULTS}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
