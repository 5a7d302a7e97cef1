"""Fixtures shared by several test modules."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline (a loaded 2-core machine is not a bug); in CI, a fixed sequence of
# examples, so that a run is reproducible (explore locally: the default profile is random).
settings.register_profile("meshwarn", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "meshwarn")

SMALL_SCENARIO = Path(__file__).parent / "data" / "browser-srbm.toml"


def meshwarn_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[bytes]:
    """Run `meshwarn ARGS...` as a user would; a failure fails the test with its output."""
    return subprocess.run(
        [sys.executable, "-m", "meshwarn.cli", *args], check=True, capture_output=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def two_dyads_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`meshwarn exercise run` of a one-missile exercise under two dyads (run once per session)."""
    out = tmp_path_factory.mktemp("exercise") / "two-dyads"
    meshwarn_cli("exercise", "run", str(SMALL_SCENARIO), "--agreements", "two-dyads", "--out", str(out))
    return out
