"""Fixtures shared by several test modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SMALL_SCENARIO = Path(__file__).parent / "data" / "browser-srbm.toml"


@pytest.fixture(scope="session")
def two_dyads_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`meshwarn exercise run` of a one-missile exercise under two dyads (run once per session)."""
    out = tmp_path_factory.mktemp("exercise") / "two-dyads"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "meshwarn.cli",
            "exercise",
            "run",
            str(SMALL_SCENARIO),
            "--agreements",
            "two-dyads",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out
