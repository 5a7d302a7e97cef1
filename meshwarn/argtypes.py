"""argparse types for values the commands share: a bad value is a one-line usage error (exit 2)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

BUS_SCHEMES = ("nats://", "tls://")


def port(text: str) -> int:
    """A TCP port to listen on or connect to, 1..65535."""
    return _int_in(text, 1, 65535, "a port number 1..65535")


def port_or_zero(text: str) -> int:
    """A port, or 0 for none."""
    return _int_in(text, 0, 65535, "a port number 1..65535, or 0 for none")


def positive(text: str) -> float:
    """A finite number > 0 (a step, an interval)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: want a finite number > 0")
    return value


def bus_url(text: str) -> str:
    """A NATS URL, or the credentials file that holds one (as `deploy nats-config` writes): a file
    keeps the password out of the process list and the shell history."""
    if text.startswith(BUS_SCHEMES):
        return text
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text!r}: want nats://USER:PASSWORD@HOST:PORT or a credentials file")
    try:
        url = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise argparse.ArgumentTypeError(f"{text}: cannot read the credentials file ({exc})") from None
    if not url.startswith(BUS_SCHEMES) or len(url.splitlines()) != 1:
        raise argparse.ArgumentTypeError(f"{text}: not a credentials file (one line, nats://USER:PASSWORD@HOST:PORT)")
    return url


def _int_in(text: str, low: int, high: int, want: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: want {want}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text!r}: want {want}")
    return value
