"""`meshwarn exercise run`, `meshwarn exercise compare` and `meshwarn audit verify`."""

from __future__ import annotations

import argparse
import asyncio
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from meshwarn.errors import InputError

if TYPE_CHECKING:
    from meshwarn.model import Label
    from meshwarn.share.agreements import Agreements


def register(top: argparse._SubParsersAction, exercise: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to `meshwarn` and to `meshwarn exercise`."""
    run_cmd = exercise.add_parser("run", help="simulate, sign, verify, fuse per entitlement group and share")
    run_cmd.add_argument(
        "scenario", help="scenario file or shipped name, or an exercise directory with reports.jsonl"
    )
    run_cmd.add_argument(
        "--agreements", required=True, help="agreements file, or a shipped name (trilateral)"
    )
    run_cmd.add_argument("--out", type=Path, required=True, metavar="DIR")
    run_cmd.add_argument(
        "--speed", default="max", help="max (default), realtime, or a factor N (N x real time)"
    )
    run_cmd.add_argument("--seed", type=int, help="simulation seed (default: the scenario's)")
    run_cmd.add_argument("--inject-faults", action="store_true", help="also send four tampered reports")
    run_cmd.add_argument(
        "--force",
        action="store_true",
        help="replace an exercise already in DIR with new reports, removing all it had derived from its own",
    )
    run_cmd.add_argument(
        "--bus",
        default="embedded",
        choices=["embedded", "nats"],
        help="embedded (default: one process) or nats (a local nats-server, a process per partner node)",
    )
    run_cmd.set_defaults(func=cmd_run)

    compare = exercise.add_parser("compare", help="what one sharing arrangement changes against another")
    compare.add_argument("dir_a", type=Path, metavar="DIR_A")
    compare.add_argument("dir_b", type=Path, metavar="DIR_B")
    compare.set_defaults(func=cmd_compare)

    audit = top.add_parser("audit", help="check an exercise's store and audit chain")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="STEP")
    verify = audit_sub.add_parser("verify", help="check the hash chain and every signature")
    verify.add_argument("directory", type=Path, metavar="DIR")
    verify.set_defaults(func=cmd_verify)


def check_speed(speed: str) -> str:
    if speed in ("max", "realtime"):
        return speed
    try:
        factor = float(speed)
    except ValueError:
        factor = 0.0
    if not factor > 0:
        raise InputError(f"--speed {speed!r}: want max, realtime or a number > 0")
    return speed


def default_tracker_factory():  # noqa: ANN201 - the tracker's own type
    try:
        from meshwarn.track.tracker import Tracker
    except ImportError as exc:
        raise InputError(f"the tracker (meshwarn.track.tracker) is not available: {exc}") from None
    return Tracker


def default_warn_hook():  # noqa: ANN201
    """Alerts from the warn stage, one alert manager per entitlement group."""
    from meshwarn.share.warnhook import GroupWarner

    return GroupWarner()


def check_partners(labels: Iterable[Label], agreements: Agreements) -> None:
    """Every partner the exercise's reports come from or are released to must be in the agreements.

    The hub refuses (quarantines) a report from, or released to, a partner the agreements do not
    name: right for a stray report, but an exercise whose partner is missing from the file would
    lose all of that partner's reports. That is a mistake in the files, said before any work."""
    labels = list(labels)
    senders = {label.originator for label in labels}
    readers = {partner for label in labels for partner in label.releasable_to}
    missing = sorted((senders | readers) - set(agreements.partners))
    if missing:
        named = ", ".join(f"{p} ({'sends reports' if p in senders else 'in releasable_to'})" for p in missing)
        raise InputError(
            f"agreements {agreements.name!r} do not name {named}: every report from or released to a "
            f"partner they do not name would be quarantined; add it to their [partners] "
            f"(now {', '.join(agreements.partners)}) or use other agreements"
        )


# What a run over an exercise's own reports (SCENARIO is DIR) writes anew: the earlier run's go first,
# or a partner the new agreements drop would keep its old view and alerts. alerts/fused/ (from
# `exercise warn` of the full picture) does not depend on the agreements, nor tracks.jsonl: kept.
RUN_OUTPUTS = ("views", "quarantine.jsonl", "keys.json", "hub-summary.json", "logs", "receipts", "keys", "nats")


def clear_run_outputs(directory: Path) -> None:
    from meshwarn.warn.cap import ALERTS_DIR
    from meshwarn.warn.commands import FUSED

    partner_alerts = [p for p in (directory / ALERTS_DIR).glob("*") if p.is_dir() and p.name != FUSED]
    for path in [*(directory / name for name in RUN_OUTPUTS), *partner_alerts]:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def replace_exercise(out: Path) -> None:
    """Clear an earlier exercise from DIR (its reports and all derived from them) and say so."""
    from meshwarn.sim.commands import clear_exercise

    removed = clear_exercise(out)
    if removed:
        print(f"replaced the exercise in {out}; removed {', '.join(removed)}")


def load_deliveries(  # noqa: ANN201
    scenario: str, out: Path, seed: int | None, agreements: Agreements | None = None, force: bool = False
):
    """Deliveries from an exercise directory, or from simulating the scenario into `out`.

    With agreements, the exercise's partners are checked against them before anything is written.
    An exercise already in `out` is replaced only with `force`, and only once the new reports are
    in hand; a run over DIR's own reports replaces only what the run itself writes."""
    from meshwarn import exercise
    from meshwarn.sim.commands import SIMULATED, check_replace

    source = Path(scenario)
    if source.is_dir():
        if not (source / exercise.REPORTS).exists():
            raise InputError(f"{source}: no {exercise.REPORTS} (not a simulated exercise directory)")
        if (source / "maritime_truth.json").exists() and not (source / exercise.TRUTH).exists():
            raise InputError(f"{source}: a maritime exercise, not a missile one: use `meshwarn maritime run`")
        deliveries = list(exercise.read_deliveries(source))  # all of it readable before anything is copied
        if not deliveries:
            raise InputError(f"{source / exercise.REPORTS}: no reports (an empty exercise has nothing to run)")
        if agreements is not None:
            check_partners({d.report.label for d in deliveries}, agreements)
        if out.exists() and source.resolve() == out.resolve():
            clear_run_outputs(out)
            return deliveries
        if check_replace(out, force):
            replace_exercise(out)
        out.mkdir(parents=True, exist_ok=True)
        for name in SIMULATED:  # report_truth.json too: `exercise plot` reads it beside the reports
            if (source / name).exists():
                shutil.copyfile(source / name, out / name)
        return deliveries
    from meshwarn.sim.scenario import load_scenario
    from meshwarn.sim.simulate import simulate, write

    loaded = load_scenario(scenario)
    if agreements is not None:
        check_partners([*loaded.labels.values(), *(sensor.label for sensor in loaded.sensors)], agreements)
    replacing = check_replace(out, force, source)
    sim = simulate(loaded, seed)
    if replacing:
        replace_exercise(out)
    write(sim, out)
    return sim.deliveries


def run(
    scenario: str,
    agreements: str | Path,
    out: Path,
    speed: str = "max",
    seed: int | None = None,
    faults: bool = False,
    summary: bool = True,
    force: bool = False,
):  # noqa: ANN201 - an Outcome
    """The whole of `meshwarn exercise run`, for callers such as `meshwarn demo`."""
    from meshwarn.share.agreements import load
    from meshwarn.share.run import QUARANTINE, run_exercise

    speed = check_speed(speed)
    loaded = load(agreements)
    factory = default_tracker_factory()
    deliveries = load_deliveries(scenario, out, seed, loaded, force)
    outcome = asyncio.run(
        run_exercise(deliveries, loaded, out, factory, speed, warn=default_warn_hook(), faults=faults)
    )
    if summary:
        print_summary(outcome, loaded.name)
        print(f"wrote {out}/views/<PARTNER>.jsonl, {QUARANTINE}, store.sqlite, keys.json")
    return outcome


def cmd_run(args: argparse.Namespace) -> int:
    common = (args.scenario, args.agreements, args.out, args.speed, args.seed, args.inject_faults)
    if args.bus == "nats":
        run_nats(*common, args.force)
    else:
        run(*common, force=args.force)
    write_cap(args.out)
    return 0


def run_nats(
    scenario: str, agreements: str, out: Path, speed: str, seed: int | None, faults: bool, force: bool = False
) -> None:
    """The exercise over a real local nats-server, each partner node a process of its own."""
    from meshwarn.deploy.processes import print_over_nats, run_over_nats
    from meshwarn.share.agreements import load

    if faults:
        raise InputError("--inject-faults is not supported with --bus nats")
    speed = check_speed(speed)
    loaded = load(agreements)
    load_deliveries(scenario, out, seed, loaded, force)  # given a scenario, simulates into out/
    print_over_nats(run_over_nats(out, agreements, speed), loaded.name)


def write_cap(out: Path) -> None:
    """Each partner's alerts as CAP 1.2 files (DIR/alerts/<PARTNER>/<id>.xml)."""
    from meshwarn.warn.cap import write_partner_alerts

    written = write_partner_alerts(out)
    counts = ", ".join(f"{partner} {n}" for partner, n in written.items())
    print(f"CAP 1.2 alerts under {out}/alerts/<PARTNER>/: {counts}")


def print_summary(outcome, name: str) -> None:  # noqa: ANN001
    from rich.console import Console
    from rich.table import Table

    hub = outcome.hub
    table = Table(
        title=f"{name}: {outcome.reports} reports in {outcome.wall_s:.1f} s, {len(hub.groups)} fusion groups"
    )
    for column in ("partner", "reports accepted", "reports fused", "tracks", "messages", "fusion group"):
        table.add_column(column, justify="left" if column in ("partner", "fusion group") else "right")
    for partner, row in hub.summary().items():
        table.add_row(
            partner, *(str(row[k]) for k in ("accepted", "fused", "tracks", "messages")), str(row["group"])
        )
    console = Console(width=120)
    console.print(table)
    for entry in hub.quarantine:
        console.print(f"quarantined {entry.report_id or '(undecodable)'} on {entry.subject}: {entry.reason}")


def cmd_compare(args: argparse.Namespace) -> int:
    from meshwarn.share.compare import print_table

    print_table(args.dir_a, args.dir_b)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from meshwarn.share.audit import verify_dir

    findings = verify_dir(args.directory)
    if findings:
        print(f"TAMPERED: {findings[0]}")
        for finding in findings[1:6]:
            print(f"  also: {finding}")
        if len(findings) > 6:
            print(f"  ... {len(findings) - 6} more")
        return 1
    print(f"{args.directory}: audit chain intact; every report and outgoing signature verifies")
    return 0
