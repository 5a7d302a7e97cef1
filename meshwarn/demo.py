"""`meshwarn demo`: the whole exercise end to end, as far as meshwarn goes today."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(top: argparse._SubParsersAction, exercise: argparse._SubParsersAction) -> None:
    demo = top.add_parser("demo", help="run an exercise scenario end to end and say what it did")
    demo.add_argument("--out", type=Path, default=Path("out/demo"))
    demo.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from meshwarn.sim.flight import solve_launch

    trajectory = solve_launch(39.224, 125.670, 75.0, 550.0, 2700.0)
    print("Hwasong-12-like IRBM:", trajectory.summary())
    return 0
