"""`meshwarn exercise fuse DIR` and `meshwarn exercise score DIR`."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import msgspec

from meshwarn import exercise as ex
from meshwarn import model
from meshwarn.errors import InputError


def register(top: argparse._SubParsersAction, exercise: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to `meshwarn` and to `meshwarn exercise`."""
    fuse = exercise.add_parser("fuse", help="fuse DIR/reports.jsonl into tracks, as a stream")
    fuse.add_argument("dir", type=Path, metavar="DIR")
    fuse.add_argument("--filter", choices=["ekf", "ukf"], default="ekf")
    fuse.add_argument("--quiet", action="store_true", help="no progress bar")
    fuse.add_argument(
        "--picture-every", type=float, default=10.0, metavar="S",
        help="also write coasting tracks (not updated, predicted on) this often, as the hub's picture does",
    )  # fmt: skip
    fuse.set_defaults(func=cmd_fuse)
    score = exercise.add_parser("score", help="score DIR/tracks.jsonl against DIR/truth.json")
    score.add_argument("dir", type=Path, metavar="DIR")
    score.add_argument("--step", type=float, default=5.0, metavar="S", help="scoring interval (s)")
    score.add_argument("--json", action="store_true", help="print the whole score as JSON")
    score.set_defaults(func=cmd_score)


def _batches(deliveries: Iterator[model.Delivery]) -> Iterator[tuple[float, list[model.Report]]]:
    """Consecutive deliveries that arrived at the same instant: the hub sees them together."""
    batch: list[model.Report] = []
    arrival = None
    last = -float("inf")
    for d in deliveries:
        if d.arrival < last:
            raise InputError(f"reports are not in arrival order (arrival {d.arrival} after {last})")
        last = d.arrival
        if batch and d.arrival != arrival:
            yield arrival, batch  # type: ignore[misc]
            batch = []
        arrival = d.arrival
        batch.append(d.report)
    if batch:
        yield arrival, batch  # type: ignore[misc]


def cmd_fuse(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from meshwarn.track.tracker import Tracker, TrackerConfig

    path = Path(args.dir) / ex.REPORTS
    if not path.exists():
        raise InputError(f"{args.dir}: no {ex.REPORTS} (run `meshwarn exercise simulate` first)")
    with path.open("rb") as f:
        total = sum(1 for line in f if line.strip())
    if args.picture_every <= 0:
        raise InputError(f"--picture-every {args.picture_every:g} must be positive")
    tracker = Tracker(TrackerConfig(filter=args.filter))
    next_picture = None
    encoder = msgspec.json.Encoder()
    emitted = 0
    ids: set[str] = set()
    final = Path(args.dir) / ex.TRACKS
    partial = final.with_suffix(".jsonl.partial")  # the old tracks stay until this run succeeds
    try:
        with (
            partial.open("wb") as out,
            Progress(
                TextColumn("fusing"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[tracks]} tracks"),
                TimeElapsedColumn(), disable=args.quiet,
            ) as progress,
        ):  # fmt: skip
            task = progress.add_task("fuse", total=total, tracks=0)
            for arrival, reports in _batches(ex.read_deliveries(args.dir)):
                changed = tracker.process_batch(reports, arrival)
                if next_picture is None or arrival >= next_picture:
                    next_picture = arrival + args.picture_every
                    changed += [t for t in tracker.tracks(arrival) if t.status == "coasting"]
                for track in changed:
                    out.write(encoder.encode(track))
                    out.write(b"\n")
                    emitted += 1
                    if track.status in ("confirmed", "coasting"):
                        ids.add(track.id)
                progress.update(task, advance=len(reports), tracks=len(ids))
        partial.replace(final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    print(
        f"fused {total} reports into {len(ids)} confirmed tracks ({emitted} track updates; "
        f"{tracker.late_reports} late reports filtered in) -> {Path(args.dir) / ex.TRACKS}"
    )
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from meshwarn.score import score

    if args.step <= 0:
        raise InputError(f"--step {args.step:g} must be positive")
    truth = ex.read_truth(args.dir)
    tracks = list(ex.read_tracks(args.dir))
    result = score(truth, tracks, step_s=args.step)
    result["warnings"] = warning_figures(Path(args.dir), tracks, truth)
    (Path(args.dir) / ex.SCORE).write_text(json.dumps(result, indent=1) + "\n")
    if args.json:
        print(json.dumps(result))
        return 0
    _print_score(result)
    _print_warnings(result["warnings"])
    print(f"-> {Path(args.dir) / ex.SCORE}")
    return 0


def _print_score(result: dict) -> None:  # type: ignore[type-arg]
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"GOSPA mean {result['gospa_mean_m']} m, OSPA mean {result['ospa_mean_m']} m "
        f"(c = {result['cutoff_m'] / 1000:g} km, p = {result['order']}); "
        f"track breaks {result['track_breaks']}; false tracks {len(result['false_tracks'])}"
    )
    missiles = Table("missile", "tracks", "breaks", "first confirmed (s after launch)", "covered")
    for key, m in result["missiles"].items():
        missiles.add_row(
            key, " ".join(m["track_ids"]) or "-", str(m["track_breaks"]),
            "-" if m["first_confirmed_s"] is None else f"{m['first_confirmed_s']:.0f}",
            f"{100 * m['coverage_fraction']:.0f}%",
        )  # fmt: skip
    console.print(missiles)
    impact = Table("since launch (s)", "n", "impact error median (km)", "p90 (km)", "95% ellipse coverage")
    for row in result["impact"]:
        a, b = row["since_launch_s"]
        impact.add_row(
            f"{a:.0f}-{b:.0f}", str(row["n"]), f"{row['error_km_median']:.2f}", f"{row['error_km_p90']:.2f}",
            f"{100 * row['ellipse_coverage']:.0f}%",
        )  # fmt: skip
    console.print(impact)


def warning_figures(directory: Path, tracks: list, truth) -> dict:  # type: ignore[no-untyped-def, type-arg]
    """Warning quality per picture: each partner's view after `exercise run`, else the alerts of
    `exercise warn` (DIR/alerts.jsonl), else alerts issued here from the fused tracks."""
    from meshwarn.model import Alert
    from meshwarn.warn.commands import issue_alerts, read_alerts
    from meshwarn.warn.quality import warning_quality

    partners = ex.view_partners(directory)
    if partners:
        pictures = {p: ex.read_view(directory, p, {"alerts": Alert})["alerts"] for p in partners}
    else:
        pictures = {"fused": read_alerts(directory) or issue_alerts(tracks)}
    return {name: warning_quality(alerts, truth) for name, alerts in pictures.items()}


def _print_warnings(warnings: dict) -> None:  # type: ignore[type-arg]
    from rich.console import Console
    from rich.table import Table

    table = Table(
        "picture", "region", "status", "first alert (s after launch)", "lead time (s)", "cancelled",
        title="Warnings against the truth (warned / late / missed / false)",
    )  # fmt: skip
    for name, quality in warnings.items():
        for code, row in quality["regions"].items():
            table.add_row(
                name, f"{row['name']} ({code})", row["status"],
                "-" if "from_launch_s" not in row else f"{row['from_launch_s']:.0f}",
                "-" if row.get("lead_time_s") is None else f"{row['lead_time_s']:.0f}",
                "yes" if row.get("cancelled") else "-",
            )  # fmt: skip
    Console().print(table)
