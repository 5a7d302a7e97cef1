"""`meshwarn demo`: the whole exercise end to end, and a tour of what meshwarn does.

1. the IRBM-overflight exercise under the trilateral agreement: simulate, sign,
   verify, fuse per entitlement group, share, warn (CAP 1.2 files per partner);
2. the same exercise under two dyads, and what the trilateral channel changes;
3. the audit chain verified, the fused picture scored against the truth, a map;
4. the maritime picture: AIS and partners' detections fused, anomalies found, and shared under the
   trilateral agreement (views per partner, on the same clock as the missile exercise);
5. the common-picture page serving the trilateral exercise and the maritime picture, with credentials.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

SCENARIO = "irbm-overflight"
MARITIME_SCENARIO = "maritime-east-asia"
console = Console()


def register(top: argparse._SubParsersAction, exercise: argparse._SubParsersAction) -> None:
    demo = top.add_parser("demo", help="run an exercise scenario end to end and say what it did")
    demo.add_argument("--out", type=Path, default=Path("out/demo"))
    demo.add_argument("--scenario", default=SCENARIO, help=f"missile scenario (default {SCENARIO})")
    demo.add_argument(
        "--no-serve", action="store_true", help="stop after the exercise; do not serve the page"
    )
    demo.add_argument("--port", type=int, default=8765)
    demo.set_defaults(func=run_demo)


def step(text: str) -> None:
    console.rule(f"[bold cyan]{text}")


def cli(*argv: str) -> None:
    """Run one meshwarn command in this process; a failure stops the demo with its message."""
    from meshwarn.cli import main

    code = main(list(argv))
    if code != 0:
        raise SystemExit(code)


def run_demo(args: argparse.Namespace) -> int:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    trilateral, dyads, maritime = out / "trilateral", out / "two-dyads", out / "maritime"
    # --force: a second demo replaces the first one's exercises (and all derived from them) in OUT.

    step(f"1. {args.scenario} under the trilateral agreement (simulate, sign, verify, fuse, share, warn)")
    cli("exercise", "run", args.scenario, "--agreements", "trilateral", "--out", str(trilateral), "--force")
    show_alerts(trilateral)

    step("2. The same launch under two dyads (KOR-USA, JPN-USA; no KOR-JPN channel)")
    cli("exercise", "run", str(trilateral), "--agreements", "two-dyads", "--out", str(dyads), "--force")
    cli("exercise", "compare", str(dyads), str(trilateral))

    step("3. Trust: the audit chain and every signature")
    cli("audit", "verify", str(trilateral))

    step("4. The full fused picture scored against the truth, and drawn")
    cli("exercise", "fuse", str(trilateral), "--quiet")
    cli("exercise", "score", str(trilateral))
    cli("exercise", "plot", str(trilateral), "--out", str(trilateral / "exercise.png"))
    cli("export", "geojson", str(trilateral))

    step("5. The maritime picture beside it: AIS, coastal radar, patrol aircraft and satellites")
    scenario = maritime_scenario_beside(trilateral, out / f"{MARITIME_SCENARIO}.toml")
    cli("maritime", "simulate", str(scenario), "--out", str(maritime), "--force")
    cli("maritime", "fuse", str(maritime))
    cli("maritime", "score", str(maritime))
    cli("maritime", "run", str(maritime), "--agreements", "trilateral", "--out", str(maritime))

    step("Done")
    console.print(
        f"Everything is under [bold]{out}/[/]: [bold]trilateral/[/] (views/, alerts/ with CAP 1.2 per "
        "partner, store.sqlite, exercise.png, exercise.geojson), [bold]two-dyads/[/] (the same launch "
        "under two dyads) and [bold]maritime/[/] (vessel tracks, anomalies, views)"
    )
    if args.no_serve:
        return 0
    step("6. The common picture: each partner signs in with its own credential")
    # A new exercise gets new credentials, printed once here.
    (trilateral / "web-credentials.json").unlink(missing_ok=True)
    cli("serve", str(trilateral), str(maritime), "--port", str(args.port))
    return 0


def maritime_scenario_beside(missile: Path, path: Path, lead_s: float = 3600.0) -> Path:
    """The maritime scenario, starting lead_s before the missile exercise, so one clock plays both."""
    from datetime import UTC, datetime

    from meshwarn.maritime.commands import scenario_path

    start = json.loads((missile / "truth.json").read_bytes())["start_time"] - lead_s
    stamp = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = scenario_path(MARITIME_SCENARIO).read_text().splitlines()
    path.write_text("\n".join(f"start = {stamp}" if ln.startswith("start =") else ln for ln in lines) + "\n")
    return path


def show_alerts(directory: Path) -> None:
    """The alerts each partner received, as a table: when, what, where."""
    truth = json.loads((directory / "truth.json").read_bytes())
    launch = min(o["launch_time"] for o in truth["objects"])
    table = Table(title="Alerts delivered (time after launch, at release to the partner)")
    for column in ("partner", "t+ (s)", "type", "region", "reason"):
        table.add_column(column)
    for view in sorted((directory / "views").glob("*.jsonl")):
        for line in view.read_bytes().splitlines():
            message = json.loads(line)
            if message["kind"] != "alerts":
                continue
            body = message["body"]
            table.add_row(
                view.stem,
                f"{message['release'] - launch:.0f}",
                body["msg_type"],
                body["region_name"],
                body["reason"],
            )
    console.print(table)
