"""`meshwarn fly` and the simulator's exercise steps."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from meshwarn.argtypes import positive
from meshwarn.errors import InputError
from meshwarn.sim.flight import solve_burnout, solve_launch


def register(top: argparse._SubParsersAction, exercise: argparse._SubParsersAction) -> None:
    fly = top.add_parser("fly", help="fly one ballistic launch and print its figures")
    fly.add_argument("--launch", required=True, metavar="LAT,LON", help="launch point, degrees")
    fly.add_argument("--azimuth", required=True, type=float, metavar="DEG")
    fly.add_argument("--apogee-km", type=float)
    fly.add_argument("--range-km", type=float)
    fly.add_argument("--burnout-speed", type=float, metavar="M/S", help="instead of apogee and range")
    fly.add_argument("--flight-path-deg", type=float, help="burnout flight-path angle, with --burnout-speed")
    fly.add_argument("--booster", choices=["srbm", "irbm", "slbm", "icbm"], help="default: by size")
    fly.add_argument("--track", action="store_true", help="include the ground track")
    fly.add_argument("--track-step", type=positive, default=10.0, metavar="S")
    fly.add_argument("--json", action="store_true", help="print JSON (default: a short text)")
    fly.set_defaults(func=cmd_fly)

    sim = exercise.add_parser(
        "simulate", help="simulate a scenario: reports as the hub receives them, and truth"
    )
    sim.add_argument("scenario", help="a scenario TOML file, or the name of a shipped one (e.g. srbm-salvo)")
    sim.add_argument("--out", required=True, type=Path, metavar="DIR", help="the exercise directory to write")
    sim.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    sim.add_argument("--quiet", action="store_true", help="no progress bar")
    sim.add_argument(
        "--force",
        action="store_true",
        help="replace an exercise already in DIR, removing what earlier runs made from its reports",
    )
    sim.set_defaults(func=cmd_simulate)

    plot = exercise.add_parser("plot", help="draw an exercise on a map of the region (PNG)")
    plot.add_argument("directory", type=Path, metavar="DIR", help="an exercise directory (from simulate)")
    plot.add_argument("--out", type=Path, metavar="FILE.png", help="default: DIR/map.png")
    plot.set_defaults(func=cmd_plot)


# What `exercise simulate` writes, and what later steps derive from those reports. A new simulation
# makes every derived output stale: --force removes them, so that DIR never mixes two runs.
SIMULATED = ("reports.jsonl", "truth.json", "scenario.toml", "report_truth.json")
DERIVED = (
    "tracks.jsonl", "score.json", "alerts.jsonl", "alerts", "views", "quarantine.jsonl", "store.sqlite",
    "store.sqlite-wal", "store.sqlite-shm", "keys.json", "hub-summary.json", "web-credentials.json",
    "map.png", "exercise.png", "exercise.geojson", "cot.xml", "maritime_truth.json", "vessel_tracks.jsonl",
    "anomalies.jsonl", "maritime_score.json", "ais.nmea", "logs", "receipts", "keys", "nats",
)  # fmt: skip


def existing_exercise(directory: Path) -> list[str]:
    """The exercise files (simulated or derived) already in DIR, as names (folders end in /).

    Only a DIR with reports.jsonl is an exercise: files of these names anywhere else may be the
    user's own (a views/ or logs/ folder), and are never taken for an exercise to replace."""
    if not directory.is_dir():
        return []
    found = [
        name + ("/" if (directory / name).is_dir() else "")
        for name in (*SIMULATED, *DERIVED)
        if (directory / name).exists()
    ]
    if found and not (directory / "reports.jsonl").is_file():
        raise InputError(
            f"--out {directory} holds {', '.join(found[:3])} but no reports.jsonl: not an exercise "
            "meshwarn made, so nothing there is replaced; choose another --out"
        )
    return found


def check_replace(out: Path, force: bool, source: Path | None = None) -> bool:
    """Whether DIR already holds an exercise that new reports would replace; refused without --force.

    Callers replace it only once the new reports exist (simulated, or read whole), so that a failed
    run leaves the old exercise whole. ``source``: the input file, never among what is replaced."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: a file, not a directory")
    if source is not None and source.is_file() and out.is_dir():
        inside = source.resolve().parent == out.resolve() and source.name in (*SIMULATED, *DERIVED)
        if inside:
            raise InputError(
                f"{source} is inside --out {out}, where the run writes {source.name}: copy the "
                "scenario elsewhere or choose another --out"
            )
    found = existing_exercise(out)
    if found and not force:
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        raise InputError(
            f"{out} already holds an exercise ({shown}); choose another --out, or add --force to "
            "replace it (its views, tracks, alerts and store are removed with it)"
        )
    return bool(found)


def clear_exercise(directory: Path) -> list[str]:
    """Remove an earlier run's reports and all derived from them; the names removed.

    The simulated files go too: a new run that writes no truth.json must not leave the old one."""
    removed = remove_derived(directory)
    for name in SIMULATED:
        if (directory / name).is_file():
            (directory / name).unlink()
            removed.append(name)
    return removed


def remove_derived(directory: Path) -> list[str]:
    """Remove the outputs derived from an earlier run's reports; the names removed."""
    removed = []
    for name in DERIVED:
        path = directory / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        removed.append(name)
    return removed


def parse_latlon(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(part) for part in text.split(","))
    except ValueError:
        raise InputError(f"expected LAT,LON in degrees, got {text!r}") from None
    if not -90.0 <= lat <= 90.0:
        raise InputError(f"latitude {lat:g} is outside -90..90")
    if not -180.0 <= lon <= 360.0:
        raise InputError(f"longitude {lon:g} is outside -180..360")
    return lat, lon


def cmd_fly(args: argparse.Namespace) -> int:
    lat, lon = parse_latlon(args.launch)
    if args.burnout_speed is not None or args.flight_path_deg is not None:
        if args.burnout_speed is None or args.flight_path_deg is None:
            raise InputError("--burnout-speed and --flight-path-deg go together")
        trajectory = solve_burnout(
            lat, lon, args.azimuth, args.burnout_speed, args.flight_path_deg, booster=args.booster
        )
    else:
        if args.apogee_km is None or args.range_km is None:
            raise InputError("give --apogee-km and --range-km (or --burnout-speed and --flight-path-deg)")
        trajectory = solve_launch(lat, lon, args.azimuth, args.apogee_km, args.range_km, booster=args.booster)
    result: dict[str, object] = dict(trajectory.summary())
    if args.track:
        result["ground_track"] = [
            {"t_s": round(t, 1), "lat": round(a, 5), "lon": round(o, 5), "h_km": round(h / 1000, 3)}
            for t, a, o, h in trajectory.ground_track(args.track_step)
        ]
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            if key != "ground_track":
                print(f"{key:>18}: {value}")
        if args.track:
            print_ground_track(result["ground_track"])  # type: ignore[arg-type]
    return 0


def print_ground_track(points: list[dict[str, float]]) -> None:
    print(f"\n{'t_s':>8} {'lat':>10} {'lon':>10} {'h_km':>9}")
    for point in points:
        print(f"{point['t_s']:>8.1f} {point['lat']:>10.5f} {point['lon']:>10.5f} {point['h_km']:>9.3f}")


def cmd_simulate(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from meshwarn.sim.scenario import load_scenario
    from meshwarn.sim.simulate import simulate, summary, write

    if args.seed is not None and args.seed < 0:
        raise InputError(f"--seed {args.seed} must be a non-negative integer")
    found = check_replace(args.out, args.force, Path(args.scenario))
    scenario = load_scenario(args.scenario)
    if args.quiet:
        sim = simulate(scenario, args.seed)
    else:
        # The bar goes to stderr and vanishes when done: stdout keeps only the summary.
        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task(
                f"simulating {scenario.name}", total=len(scenario.launches) + len(scenario.sensors) + 1
            )

            def step(what: str) -> None:
                progress.update(task, advance=1, description=what)

            sim = simulate(scenario, args.seed, step)
    # Only once the new simulation succeeded: a failed one leaves the old exercise whole.
    removed = remove_derived(args.out) if found else []
    write(sim, args.out)
    for line in summary(sim):
        print(line)
    print(f"wrote {args.out}/reports.jsonl, truth.json, scenario.toml")
    if removed:
        print(f"removed what the earlier run had made from its reports: {', '.join(removed)}")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from meshwarn.sim.plot import plot_exercise

    out = args.out or args.directory / "map.png"
    if out.suffix.lower() != ".png":
        raise InputError(f"--out {out}: the picture is a PNG; name it FILE.png")
    plot_exercise(args.directory, out)
    print(f"wrote {out}")
    return 0
