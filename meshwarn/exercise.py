"""The exercise directory: what one run of an exercise leaves on disk.

    DIR/scenario.toml     the scenario that was run (a copy)
    DIR/reports.jsonl     every report, one Delivery per line, in the order the hub receives them
    DIR/truth.json        what really happened (Truth): for scoring and pictures, never the tracker
    DIR/tracks.jsonl      fused tracks, one Track per line, as the tracker emitted them
    DIR/score.json        figures of merit written by `meshwarn exercise score`

Later stages add their own files (views/, alerts/, quarantine.jsonl, store.sqlite).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import msgspec

from meshwarn.errors import InputError
from meshwarn.model import Delivery, MessageError, Track, Truth, from_json

REPORTS = "reports.jsonl"
TRUTH = "truth.json"
TRACKS = "tracks.jsonl"
SCENARIO = "scenario.toml"
SCORE = "score.json"

T = TypeVar("T")


def write_jsonl(path: Path, messages: Iterable[msgspec.Struct]) -> int:
    encoder = msgspec.json.Encoder()
    count = 0
    with path.open("wb") as out:
        for message in messages:
            out.write(encoder.encode(message))
            out.write(b"\n")
            count += 1
    return count


def read_jsonl(path: Path, cls: type[T]) -> Iterator[T]:
    """Messages of one type from a JSON-lines file; a bad line is an error naming its number."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield from_json(line, cls)
            except MessageError as exc:
                raise InputError(f"{path}:{number}: {exc}") from None


def read_view(directory: Path, partner: str, kinds: dict[str, type[T]]) -> dict[str, list[T]]:
    """The bodies of the given kinds in a partner's view (DIR/views/<PARTNER>.jsonl), by kind.

    Read as plain JSON (``kind`` and ``body`` of each view message), so readers need none of the
    hub's code; other kinds are skipped. A missing view is an empty one."""
    path = Path(directory) / "views" / f"{partner.upper()}.jsonl"
    found: dict[str, list[T]] = {kind: [] for kind in kinds}
    if not path.exists():
        return found
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                message = msgspec.json.decode(line)
                kind = message.get("kind")
                if kind in kinds:
                    found[kind].append(msgspec.convert(message["body"], kinds[kind]))
            except (msgspec.DecodeError, msgspec.ValidationError, AttributeError, KeyError) as exc:
                raise InputError(f"{path}:{number}: not a view message ({exc})") from None
    return found


def view_partners(directory: Path) -> list[str]:
    return sorted(p.stem for p in (Path(directory) / "views").glob("*.jsonl"))


def read_deliveries(directory: Path) -> Iterator[Delivery]:
    return read_jsonl(Path(directory) / REPORTS, Delivery)


def read_tracks(directory: Path) -> Iterator[Track]:
    return read_jsonl(Path(directory) / TRACKS, Track)


def read_truth(directory: Path) -> Truth:
    path = Path(directory) / TRUTH
    if not path.exists():
        raise InputError(f"{directory}: not an exercise directory (no {TRUTH})")
    try:
        return from_json(path.read_bytes(), Truth)
    except MessageError as exc:
        raise InputError(f"{path}: {exc}") from None


def write_truth(directory: Path, truth: Truth) -> None:
    (Path(directory) / TRUTH).write_bytes(msgspec.json.encode(truth))
