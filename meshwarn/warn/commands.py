"""Subcommands of the warning stage (registered by meshwarn.cli).

meshwarn exercise warn DIR       tracks.jsonl -> alerts.jsonl and alerts/fused/<id>.xml (CAP 1.2)
meshwarn export geojson DIR      tracks, predictions, ellipses, warned regions -> GeoJSON
meshwarn export cot DIR          tracks as Cursor-on-Target events, to a file or a TAK server

Both include the maritime picture when there is one: vessel tracks and anomalies from a partner's
view (``vessel_tracks`` and ``anomalies`` messages of `maritime run`) or DIR/vessel_tracks.jsonl and
DIR/anomalies.jsonl (`maritime fuse`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time as wallclock
from collections.abc import Iterable
from pathlib import Path

from meshwarn.errors import InputError
from meshwarn.exercise import read_jsonl, read_tracks, write_jsonl
from meshwarn.exercise import read_view as read_exercise_view
from meshwarn.model import Alert, Anomaly, Track
from meshwarn.warn.alerts import AlertManager, WarnPolicy, hhmmss
from meshwarn.warn.cap import ALERTS_DIR, write_alerts_into
from meshwarn.warn.cot import (
    CotServer,
    anomaly_event,
    replay,
    restamp,
    send_events,
    suspects_of,
    track_events,
)
from meshwarn.warn.geojson import feature_collection

ALERTS_JSONL = "alerts.jsonl"
# The CAP files of `exercise warn` (alerts from the picture fused from every report, DIR/tracks.jsonl)
# go in a folder of their own: `exercise run` writes each partner's under DIR/alerts/<PARTNER>/, and
# the two must not mix. Lower case, so that it can never be a partner's (ISO alpha-3) code.
FUSED = "fused"


def register(top: argparse._SubParsersAction, exercise: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to `meshwarn` and to `meshwarn exercise`."""
    warn = exercise.add_parser("warn", help="issue CAP alerts from an exercise's tracks")
    warn.add_argument("directory", type=Path, metavar="DIR")
    warn.add_argument("--status", choices=["Exercise", "Actual", "Test"], default="Exercise")
    warn.add_argument(
        "--countries", default="JPN,KOR", help="whose regions to warn (alpha-3, comma-separated)"
    )
    warn.set_defaults(func=cmd_warn)

    export = top.add_parser("export", help="export an exercise for other tools")
    sub = export.add_subparsers(dest="export_command", required=True, metavar="FORMAT")
    gj = sub.add_parser("geojson", help="tracks, ground tracks, 95%% ellipses and warned regions as GeoJSON")
    gj.add_argument("directory", type=Path, metavar="DIR")
    gj.add_argument("--out", type=Path, help="default: DIR/exercise.geojson (DIR/views/<PARTNER>.geojson)")
    gj.add_argument("--view", metavar="PARTNER", help="what PARTNER received in `exercise run` (views/)")
    gj.set_defaults(func=cmd_geojson)
    cot = sub.add_parser("cot", help="tracks, launch points and impact areas as Cursor-on-Target events")
    cot.add_argument("directory", type=Path, metavar="DIR")
    cot.add_argument("--out", type=Path, help="default: DIR/cot.xml (one event per line)")
    where = cot.add_mutually_exclusive_group()
    where.add_argument("--tak", metavar="HOST:PORT", help="stream to a TAK server's TCP input instead")
    where.add_argument("--serve", metavar="HOST:PORT", help="serve the stream to TAK clients that connect")
    cot.add_argument("--speed", type=float, default=1.0, help="with --serve: replay speed (0: at once)")
    cot.add_argument("--view", metavar="PARTNER", help="the tracks PARTNER received in `exercise run`")
    cot.add_argument(
        "--now",
        action="store_true",
        help="stamp events with the current time (the latest picture is now): live TAK clients drop "
        "events whose stale time has passed",
    )
    cot.set_defaults(func=cmd_cot)


def issue_alerts(
    tracks: Iterable[Track], policy: WarnPolicy | None = None, interval_s: float = 1.0
) -> list[Alert]:
    """Run the alert manager over tracks in time order; ends with every passed alert cancelled.

    A track is re-assessed at most every ``interval_s`` unless its status changes (a tracker
    emits one update per plot; the areas at risk are decided on a cadence)."""
    manager = AlertManager(policy)
    last = 0.0
    fed: dict[str, tuple[float, str]] = {}
    for track in sorted(tracks, key=lambda t: t.time):
        t0, status = fed.get(track.id, (-float("inf"), ""))
        if track.status == status and track.time - t0 < interval_s:
            continue
        fed[track.id] = (track.time, track.status)
        manager.update(track)
        manager.advance(track.time)
        last = track.time
    ends = [
        e.track.impact.time + 3 * e.track.impact.sigma_time_s
        for e in manager.events.values()
        if e.track.impact
    ]
    manager.finish(max([last, *ends]) + 3600.0)
    return manager.issued


def warn_exercise(
    directory: Path, *, status: str = "Exercise", policy: WarnPolicy | None = None
) -> list[Alert]:
    """Alerts for an exercise directory: writes DIR/alerts.jsonl and DIR/alerts/fused/<id>.xml."""
    directory = Path(directory)
    alerts = issue_alerts(read_tracks(directory), policy)
    write_jsonl(directory / ALERTS_JSONL, alerts)
    out_dir = fused_alerts_dir(directory)
    for stale in out_dir.glob("*.xml"):  # a re-run's alerts replace the last run's, none left over
        stale.unlink()
    write_alerts_into(out_dir, alerts, status=status)
    return alerts


def fused_alerts_dir(directory: Path) -> Path:
    return Path(directory) / ALERTS_DIR / FUSED


def read_alerts(directory: Path) -> list[Alert]:
    path = Path(directory) / ALERTS_JSONL
    return list(read_jsonl(path, Alert)) if path.exists() else []


def cmd_warn(args: argparse.Namespace) -> int:
    countries = tuple(c.strip().upper() for c in args.countries.split(",") if c.strip())
    if not countries or any(len(c) != 3 or not c.isalpha() for c in countries):
        raise InputError(f"--countries: expected alpha-3 codes such as JPN,KOR, got {args.countries!r}")
    from meshwarn.geo.regions import load_regions

    known = {region.country for region in load_regions().land}
    unknown = [c for c in countries if c not in known]
    if unknown:
        raise InputError(
            f"--countries: no warning regions for {unknown[0]} (known: {', '.join(sorted(known))})"
        )
    alerts = warn_exercise(args.directory, status=args.status, policy=WarnPolicy(countries=countries))
    for a in alerts:
        print(f"{hhmmss(a.sent)}  {a.msg_type:<6} {a.region_code:<7} {a.reason:<13} {a.headline}")
    print(f"{len(alerts)} messages -> {fused_alerts_dir(args.directory)}/ (CAP 1.2), {ALERTS_JSONL}")
    return 0


def read_view(directory: Path, partner: str) -> tuple[list[Track], list[Alert]]:
    """The tracks and alerts a partner received: DIR/views/<PARTNER>.jsonl from `exercise run`."""
    path = Path(directory) / "views" / f"{partner.upper()}.jsonl"
    if not path.exists():
        raise InputError(f"{path}: no such file (run `meshwarn exercise run` with --out {directory})")
    view = read_exercise_view(directory, partner, {"tracks": Track, "alerts": Alert})
    return view["tracks"], view["alerts"]  # type: ignore[return-value]


def read_view_maritime(directory: Path, partner: str) -> tuple[list[Track], list[Anomaly]]:
    """The vessel tracks and anomalies in a partner's view (none if it has no maritime messages)."""
    view = read_exercise_view(directory, partner, {"vessel_tracks": Track, "anomalies": Anomaly})
    return view["vessel_tracks"], view["anomalies"]  # type: ignore[return-value]


def _source(args: argparse.Namespace) -> tuple[list[Track], list[Alert]]:
    directory = Path(args.directory)
    if not directory.is_dir():
        raise InputError(f"{directory}: no such exercise directory")
    if args.view:
        return read_view(args.directory, args.view)  # maritime messages are left to _maritime
    if not (directory / "tracks.jsonl").exists():
        if (directory / "vessel_tracks.jsonl").exists():
            return [], []  # a maritime exercise
        raise InputError(
            f"{directory}: no tracks.jsonl: run `meshwarn exercise fuse {directory}` (or `maritime fuse`) "
            "first, or give --view PARTNER for what a partner received in `exercise run`"
        )
    return list(read_tracks(args.directory)), read_alerts(args.directory)


def check_out(out: Path, directory: Path, default: Path) -> Path:
    """Where an export goes; never over one of the exercise's own files, which it would destroy."""
    from meshwarn.sim.commands import DERIVED, SIMULATED

    if out == default:
        return out
    home = Path(directory).resolve()
    inputs = {home / name for name in (*SIMULATED, *DERIVED)} - {default.resolve()}
    target = out.resolve()
    if target in inputs or (target.parent == home / "views" and target.suffix == ".jsonl"):
        raise InputError(f"--out {out} is one of the exercise's own files: it would be overwritten")
    if out.is_dir():
        raise InputError(f"--out {out}: a directory; name the file to write")
    return out


def _maritime(args: argparse.Namespace) -> tuple[list[Track], list[Anomaly]]:
    if args.view:
        return read_view_maritime(args.directory, args.view)
    directory = Path(args.directory)
    tracks = directory / "vessel_tracks.jsonl"
    anomalies = directory / "anomalies.jsonl"
    return (
        list(read_jsonl(tracks, Track)) if tracks.exists() else [],
        list(read_jsonl(anomalies, Anomaly)) if anomalies.exists() else [],
    )


def cmd_geojson(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    tracks, alerts = _source(args)
    vessels, anomalies = _maritime(args)
    collection = feature_collection(tracks + vessels, alerts, anomalies)
    default = (
        directory / "views" / f"{args.view.upper()}.geojson" if args.view else directory / "exercise.geojson"
    )
    out = check_out(args.out or default, directory, default)
    out.write_text(json.dumps(collection))
    print(f"{len(collection['features'])} features -> {out}")
    return 0


def cmd_cot(args: argparse.Namespace) -> int:
    host, _, port = (args.tak or args.serve or "").rpartition(":")
    # A TAK server is reached on a real port; to serve, 0 asks the system for a free one.
    lowest = 1 if args.tak else 0
    if (args.tak or args.serve) and (not host or not port.isdigit() or not lowest <= int(port) <= 65535):
        raise InputError(
            f"--{'tak' if args.tak else 'serve'}: expected HOST:PORT with a port {lowest}..65535, "
            f"got {args.tak or args.serve!r}"
        )
    if not (args.speed >= 0 and math.isfinite(args.speed)):
        raise InputError(f"--speed {args.speed:g}: want a replay speed >= 0 (0: all at once)")
    default = Path(args.directory) / "cot.xml"
    out = check_out(args.out or default, Path(args.directory), default)  # before the work, not after
    tracks, _ = _source(args)
    vessels, anomalies = _maritime(args)
    if args.serve:
        return asyncio.run(_serve(tracks + vessels, host, int(port), args.speed, args.now))
    suspects = suspects_of(anomalies)
    events = [e for t in tracks + vessels for e in track_events(t, suspects)]
    events += [anomaly_event(a) for a in anomalies]
    if args.now and (tracks or vessels or anomalies):
        latest = max([t.time for t in tracks + vessels] + [a.time for a in anomalies])
        events = [restamp(e, wallclock.time() - latest) for e in events]
    if args.tak:
        try:
            sent = asyncio.run(send_events(host, int(port), events))
        except OSError as exc:
            raise InputError(f"--tak {args.tak}: {exc.strerror or exc}") from None
        print(f"{sent} CoT events -> tcp://{args.tak}")
        return 0
    with out.open("wb") as f:
        for e in events:
            f.write(e.replace(b"\n", b"") + b"\n")
    print(f"{len(events)} CoT events -> {out}", file=sys.stdout)
    return 0


async def _serve(tracks: list[Track], host: str, port: int, speed: float, now: bool = False) -> int:
    server = CotServer(host, port)
    try:
        bound = await server.start()
    except OSError as exc:
        raise InputError(f"--serve {host}:{port}: {exc.strerror or exc}") from None
    print(f"serving CoT on tcp://{host}:{bound}; replay starts when a client connects", flush=True)
    while server.clients == 0:
        await asyncio.sleep(0.1)
    count = await replay(tracks, server, speed or None, now)
    await asyncio.sleep(1.0)  # let the last events drain
    await server.close()
    print(f"{count} CoT events served")
    return 0
