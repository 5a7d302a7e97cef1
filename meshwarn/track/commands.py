"""Subcommands of this stage (registered by meshwarn.cli)."""

from __future__ import annotations

import argparse


def register(top: argparse._SubParsersAction, exercise: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to `meshwarn` and to `meshwarn exercise`."""
