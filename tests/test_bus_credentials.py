"""--bus takes a NATS URL or the credentials file that holds one (no password in the process list)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from meshwarn.argtypes import bus_url


def test_url_passes_and_a_credentials_file_is_read(tmp_path: Path) -> None:
    assert bus_url("nats://u:p@127.0.0.1:4222") == "nats://u:p@127.0.0.1:4222"
    creds = tmp_path / "KOR.url"
    creds.write_text("nats://kor:secret@127.0.0.1:4222\n")
    assert bus_url(str(creds)) == "nats://kor:secret@127.0.0.1:4222"


@pytest.mark.parametrize("content", ["", "not a url\n", "nats://a@h:1\nnats://b@h:2\n"])
def test_a_file_that_is_not_credentials_is_refused(tmp_path: Path, content: str) -> None:
    bad = tmp_path / "bad.url"
    bad.write_text(content)
    with pytest.raises(argparse.ArgumentTypeError, match="not a credentials file"):
        bus_url(str(bad))
    with pytest.raises(argparse.ArgumentTypeError, match="or a credentials file"):
        bus_url(str(tmp_path / "missing.url"))


def test_hub_with_a_missing_credentials_file_says_so_in_one_line(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "meshwarn.cli", "hub", "--bus", str(tmp_path / "HUB.url"),
         "--agreements", "trilateral", "--dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert run.returncode == 2
    assert "HUB.url" in run.stderr and "credentials file" in run.stderr
    assert "Traceback" not in run.stderr
