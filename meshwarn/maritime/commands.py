"""`meshwarn ais ingest` and `meshwarn maritime simulate|fuse|score`."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from meshwarn.argtypes import positive
from meshwarn.errors import InputError
from meshwarn.exercise import write_jsonl
from meshwarn.maritime import io

if TYPE_CHECKING:
    from meshwarn.maritime.trust import Sent
    from meshwarn.share.agreements import Agreements
    from meshwarn.share.signing import KeyRing

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
QUARANTINE_SHOWN = 6  # quarantined reports named on the terminal; all are in DIR/quarantine.jsonl


def register(top: argparse._SubParsersAction, exercise: argparse._SubParsersAction) -> None:
    ais = top.add_parser("ais", help="AIS feeds")
    ais_sub = ais.add_subparsers(dest="ais_command", required=True, metavar="STEP")
    ingest = ais_sub.add_parser(
        "ingest", help="decode NMEA AIS from a file, tcp://HOST:PORT or udp://HOST:PORT"
    )
    ingest.add_argument("source", metavar="FILE|tcp://127.0.0.1:PORT|udp://127.0.0.1:PORT")
    ingest.add_argument(
        "--idle", type=float, default=5.0, metavar="S", help="stop a network feed idle this long"
    )
    ingest.add_argument(
        "--max", type=int, default=0, metavar="N", help="stop after N sentences (0: no limit)"
    )
    ingest.add_argument("--out", type=Path, metavar="FILE", help="write decoded messages as JSON lines")
    ingest.add_argument("--quarantine", type=Path, metavar="FILE", help="write quarantined sentences (JSONL)")
    ingest.add_argument("--json", action="store_true", help="print the summary as JSON")
    ingest.set_defaults(func=cmd_ingest)

    maritime = top.add_parser("maritime", help="maritime domain awareness: simulate, fuse and score")
    sub = maritime.add_subparsers(dest="maritime_command", required=True, metavar="STEP")
    simulate = sub.add_parser("simulate", help="simulate shipping, AIS and partners' detections")
    simulate.add_argument("scenario", help="a scenario file, or the name of one in meshwarn/scenarios")
    simulate.add_argument("--out", type=Path, required=True, metavar="DIR")
    simulate.add_argument(
        "--nmea", action="store_true", help="also write the AIS as NMEA sentences (ais.nmea)"
    )
    simulate.add_argument(
        "--force",
        action="store_true",
        help="replace an exercise already in DIR, removing what earlier runs made from its reports",
    )
    simulate.set_defaults(func=cmd_simulate)
    fuse = sub.add_parser("fuse", help="track vessels and find anomalies in DIR/reports.jsonl")
    fuse.add_argument("directory", type=Path, metavar="DIR")
    fuse.add_argument("--snapshot-s", type=positive, default=600.0, metavar="S", help="track snapshot interval")
    fuse.set_defaults(func=cmd_fuse)
    share = sub.add_parser(
        "run", help="simulate (or take DIR), fuse once per entitlement group, write views/<PARTNER>.jsonl"
    )
    share.add_argument("scenario", help="a scenario file or name, or an existing maritime exercise directory")
    share.add_argument("--agreements", required=True, metavar="FILE|NAME")
    share.add_argument("--out", type=Path, required=True, metavar="DIR")
    share.add_argument("--snapshot-s", type=positive, default=600.0, metavar="S", help="track snapshot interval")
    share.add_argument(
        "--inject-faults",
        action="store_true",
        help="also send four tampered reports (flipped byte, replay, wrong key, unknown originator)",
    )
    share.add_argument(
        "--force",
        action="store_true",
        help="replace an exercise already in DIR with new reports, removing all it had derived from its own",
    )
    share.set_defaults(func=cmd_run)
    score = sub.add_parser("score", help="precision and recall of each anomaly kind against the truth")
    score.add_argument("directory", type=Path, metavar="DIR")
    score.add_argument("--json", action="store_true")
    score.set_defaults(func=cmd_score)


def scenario_path(text: str) -> Path:
    path = Path(text)
    if path.exists():
        return path
    named = SCENARIOS / f"{text}.toml"
    if named.exists():
        return named
    raise InputError(f"{text}: no such scenario file or name")


def cmd_ingest(args: argparse.Namespace) -> int:
    from meshwarn.maritime.ais import ingest

    if not args.idle > 0 or args.idle == float("inf"):
        raise InputError(f"--idle {args.idle:g}: want a number of seconds > 0")
    if args.max < 0:
        raise InputError(f"--max {args.max}: want a number of sentences >= 0 (0: no limit)")
    for option, target in (("--out", args.out), ("--quarantine", args.quarantine)):
        if (
            target is not None
            and Path(args.source).exists()
            and target.resolve() == Path(args.source).resolve()
        ):
            raise InputError(f"{option} {target} is the input: it would be overwritten")
        # Said before reading: a network feed's sentences, once read, cannot be read again.
        if target is not None and target.is_dir():
            raise InputError(f"{option} {target}: a directory; name the file to write")
        if target is not None and not target.parent.is_dir():
            raise InputError(f"{option} {target}: no such directory {target.parent}")
    if args.out and args.quarantine and args.out.resolve() == args.quarantine.resolve():
        raise InputError(f"--out and --quarantine are both {args.out}: give each its own file")
    decoder = ingest(args.source, idle_s=args.idle, max_lines=args.max, keep_messages=args.out is not None)
    if args.out:
        write_jsonl(args.out, decoder.decoded)
    if args.quarantine:
        with args.quarantine.open("w") as out:
            for q in decoder.quarantined:
                out.write(json.dumps({"reason": q.reason, "line": q.line, "source": q.source}) + "\n")
    summary = decoder.summary()
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"{summary['sentences']} sentences, {summary['messages']} messages, {summary['vessels']} vessels "
          f"({summary['vessels_with_static']} with static data)")  # fmt: skip
    print("messages by type: " + ", ".join(f"{k}: {v}" for k, v in summary["messages_by_type"].items()))
    reasons = summary["quarantined_by_reason"]
    print(
        f"quarantined {summary['quarantined']}: "
        + (", ".join(f"{k}: {v}" for k, v in reasons.items()) or "-")
    )
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    simulate_into(args.scenario, args.out, nmea=args.nmea, force=args.force)
    return 0


def simulate_into(
    name: str, out: Path, nmea: bool = False, force: bool = False, agreements: Agreements | None = None
) -> None:
    """Simulate a scenario into OUT; an exercise already there is replaced only with `force`, and
    only once the simulation (and, given agreements, the check of its partners) succeeded."""
    from meshwarn.maritime.traffic import load_scenario, simulate
    from meshwarn.share.commands import check_partners, replace_exercise
    from meshwarn.sim.commands import check_replace

    path = scenario_path(name)
    scenario = load_scenario(path)
    drawn_only = [z["name"] for z in scenario.get("zones", []) if "polygon" not in z]
    if drawn_only:  # the truth of zone entries is computed from the polygon
        raise InputError(
            f"{path}: zone {drawn_only[0]!r} has a region code but no polygon; simulating needs "
            "polygon = [[lat, lon], ...] (region zones serve `maritime fuse` of real reports)"
        )
    replacing = check_replace(out, force, path)
    observed, truth = simulate(scenario, nmea=nmea)
    if agreements is not None:
        check_partners({d.report.label for d in observed.deliveries}, agreements)
    if replacing:
        replace_exercise(out)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, out / "scenario.toml")
    count = io.write_deliveries(out, observed.deliveries)
    io.write_truth(out, truth)
    if nmea:
        (out / io.NMEA).write_text("\n".join(observed.nmea) + "\n")
    kinds: dict[str, int] = {}
    for event in truth.events:
        if not event.optional:
            kinds[event.kind] = kinds.get(event.kind, 0) + 1
    print(f"{len(truth.vessels)} vessels, {count} reports -> {out}; events: "
          + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))  # fmt: skip


def fuse_directory(directory: Path, snapshot_s: float = 600.0) -> tuple[int, list]:
    """Track and find anomalies in an exercise directory; returns (snapshots written, anomalies)."""

    from meshwarn.maritime.traffic import load_scenario

    scenario_file = directory / "scenario.toml"
    scenario = load_scenario(scenario_file) if scenario_file.exists() else {}
    deliveries = io.read_deliveries(directory)
    if not deliveries:
        raise InputError(f"{directory}: no reports")
    tracks, anomalies = fuse_deliveries(deliveries, scenario, snapshot_s)
    write_jsonl(directory / io.TRACKS, tracks)
    write_jsonl(directory / io.ANOMALIES, anomalies)
    return len(tracks), anomalies


def fuse_deliveries(deliveries: list, scenario: dict, snapshot_s: float = 600.0) -> tuple[list, list]:
    """(track snapshots every snapshot_s, anomalies) of these reports: one tracker, one anomaly pass."""
    from meshwarn.maritime.anomalies import AnomalyFinder
    from meshwarn.maritime.frame import LocalFrame
    from meshwarn.maritime.surface import SurfaceTracker, columns_of, run

    frame = LocalFrame(*scenario.get("frame", _centre(deliveries)))
    cols = columns_of(deliveries, frame)
    tracker = SurfaceTracker(frame)
    tracks = [track for _, snapshot in run(cols, tracker, snapshot_s=snapshot_s) for track in snapshot]
    times = [d.report.body.time for d in deliveries if hasattr(d.report.body, "time")]
    anomalies = AnomalyFinder(tracker, cols, frame, scenario).find(min(times), max(times))
    return tracks, anomalies


def _centre(deliveries) -> tuple[float, float]:
    lats = [d.report.body.lat for d in deliveries if hasattr(d.report.body, "lat")]
    lons = [d.report.body.lon for d in deliveries if hasattr(d.report.body, "lon")]
    if not lats:
        raise InputError("no positions in the reports")
    return sum(lats) / len(lats), sum(lons) / len(lons)


def cmd_fuse(args: argparse.Namespace) -> int:
    if not args.snapshot_s > 0:
        raise InputError("--snapshot-s must be > 0")
    count, anomalies = fuse_directory(args.directory, args.snapshot_s)
    kinds: dict[str, int] = {}
    for a in anomalies:
        kinds[a.kind] = kinds.get(a.kind, 0) + 1
    print(f"{count} track states -> {args.directory / io.TRACKS}; {len(anomalies)} anomalies -> "
          f"{args.directory / io.ANOMALIES}: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))  # fmt: skip
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from meshwarn.exercise import read_jsonl
    from meshwarn.maritime.score import score
    from meshwarn.model import Anomaly

    truth = io.read_truth(args.directory)
    anomalies = list(read_jsonl(args.directory / io.ANOMALIES, Anomaly))
    result = score(anomalies, truth)
    (args.directory / io.SCORE).write_bytes(msgspec.json.encode(result))
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{'kind':<12} {'found':>6} {'events':>7} {'precision':>10} {'recall':>7}")
    for kind, row in result.items():
        p = "-" if row["precision"] is None else f"{row['precision']:.2f}"
        r = "-" if row["recall"] is None else f"{row['recall']:.2f}"
        print(f"{kind:<12} {row['anomalies']:>6} {row['observable_events']:>7} {p:>10} {r:>7}")
    print(
        "found: anomalies raised; events: true events the sensors could show (seen 3+ times).\n"
        "A dark-vessel anomaly on a vessel in an AIS gap or spoofing (its AIS off or false) is right\n"
        "but not required, so found may exceed events at full precision."
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from meshwarn.maritime.traffic import load_scenario
    from meshwarn.maritime.trust import check_out, run_shared
    from meshwarn.share.agreements import load

    agreements = load(args.agreements)
    if args.snapshot_s <= 0:
        raise InputError("--snapshot-s must be > 0")
    if not args.force:  # a missile exercise's store is not replaced by a maritime one unless asked
        check_out(args.out)
    source = Path(args.scenario)
    if source.is_dir():
        take_directory(source, args.out, agreements, args.force)
    else:
        simulate_into(args.scenario, args.out, force=args.force, agreements=agreements)
    scenario_file = args.out / "scenario.toml"
    scenario = load_scenario(scenario_file) if scenario_file.exists() else {}
    deliveries = io.read_deliveries(args.out)
    interfere = inject_faults if args.inject_faults else None
    outcome = run_shared(args.out, deliveries, scenario, agreements, args.snapshot_s, interfere)
    writer, groups, counts = outcome.writer, outcome.groups, outcome.counts
    print(f"{outcome.reports} reports signed by their nodes: {outcome.accepted} verified and stored, "
          f"{len(outcome.quarantine)} quarantined -> {args.out / 'quarantine.jsonl'}")  # fmt: skip
    for entry in outcome.quarantine[:QUARANTINE_SHOWN]:
        print(f"  quarantined {entry.report_id or '(undecodable)'} on {entry.subject}: {entry.reason}")
    if len(outcome.quarantine) > QUARANTINE_SHOWN:
        print(f"  ... {len(outcome.quarantine) - QUARANTINE_SHOWN} more")
    for g in groups:
        print(f"group {g['group']}: {g['reports']} reports -> {g['track_states']} track states, "
              f"{g['anomalies']} anomalies")  # fmt: skip
    print(f"views ({agreements.name}) -> {args.out / 'views'}: "
          + ", ".join(f"{p} {n}" for p, n in sorted(counts.items()))
          + (f"; held back by the agreements: {writer.withheld}" if writer.withheld else ""))  # fmt: skip
    print(f"store and audit chain -> {args.out / 'store.sqlite'} (check: meshwarn audit verify {args.out})")
    return 0


def take_directory(source: Path, out: Path, agreements: Agreements, force: bool) -> None:
    """A maritime exercise directory as the run's input, checked whole before anything in OUT changes."""
    from meshwarn.maritime.traffic import load_scenario
    from meshwarn.share.commands import check_partners, clear_run_outputs, replace_exercise
    from meshwarn.sim.commands import check_replace

    if (source / "truth.json").exists() and not (source / io.TRUTH).exists():
        raise InputError(f"{source}: a missile exercise, not a maritime one: use `meshwarn exercise run`")
    if (source / "scenario.toml").exists():
        load_scenario(source / "scenario.toml")  # a wrong or bad scenario, before anything is copied
    deliveries = io.read_deliveries(source)  # all of it readable before anything is copied over --out
    check_partners({d.report.label for d in deliveries}, agreements)
    if out.exists() and source.resolve() == out.resolve():
        clear_run_outputs(out)  # e.g. the view of a partner the new agreements no longer name
        return
    if check_replace(out, force):
        replace_exercise(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in (io.REPORTS, "scenario.toml", io.TRUTH):
        if (source / name).exists():
            shutil.copyfile(source / name, out / name)


def inject_faults(sent: list[Sent], ring: KeyRing) -> list[Sent]:
    """The bus as `exercise run --inject-faults` has it: four tampered copies of the latest reports
    after the genuine ones (their replay is within the freshness window)."""
    from meshwarn.share.faults import tampered

    latest = sent[-4:]
    if not latest:
        return sent
    return [*sent, *tampered(latest, ring, max(arrival for _, _, arrival in latest))]
