"""`meshwarn ...`: the command line. Each stage registers its own subcommands.

Errors a user can cause (InputError) print one line and exit with status 2;
everything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys

from meshwarn import demo
from meshwarn.deploy import commands as deploy_commands
from meshwarn.errors import InputError
from meshwarn.maritime import commands as maritime_commands
from meshwarn.share import commands as share_commands
from meshwarn.sim import commands as sim_commands
from meshwarn.track import commands as track_commands
from meshwarn.warn import commands as warn_commands
from meshwarn.web import commands as web_commands

COMMAND_MODULES = (
    sim_commands,
    track_commands,
    share_commands,
    warn_commands,
    web_commands,
    maritime_commands,
    deploy_commands,
    demo,
)


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with a one-line message (its default prints the whole usage)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="meshwarn", description=__doc__.splitlines()[0])
    top = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    exercise = top.add_parser("exercise", help="simulate, fuse, share and score an exercise")
    exercise_sub = exercise.add_subparsers(dest="exercise_command", required=True, metavar="STEP")
    for module in COMMAND_MODULES:
        module.register(top, exercise_sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"meshwarn: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, UnicodeDecodeError, sqlite3.DatabaseError) as exc:
        # A file that is missing, unreadable, a directory, or not what it claims to be.
        print(f"meshwarn: error: {_describe(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("meshwarn: interrupted", file=sys.stderr)
        return 130


def _describe(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"not a text file ({exc.reason} at byte {exc.start})"
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
