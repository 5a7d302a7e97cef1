"""What one sharing arrangement changes against another, per partner, from two exercise directories.

Figures per partner, from its view (DIR/views/<PARTNER>.jsonl, at release times) and the store:
- reports in its picture: accepted reports its fused picture may use;
- time to first track: first confirmed track (or impact notice) after the first launch;
- time to first warning: first alert after the first launch ("n/a" when no view holds alerts);
- at two marks, "early" and "late" (a third and two thirds of the way through the first
  missile's flight; warnings are decided early), from the latest impact prediction of each track
  released by then, matched one to one with the missiles that flew (truth.json; nearest
  predicted impact first, within max(200 km, 3 semi-major axes)): how many missiles have a prediction, the mean distance from
  predicted to true impact, and the mean 95% impact-ellipse area.
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from meshwarn.errors import InputError
from meshwarn.exercise import TRUTH

EARTH_RADIUS_KM = 6371.0
GATE_KM = 200.0  # a prediction counts for a missile within max(this, 3 semi-major axes) of its impact


@dataclass
class Impacts:
    """How well a partner's picture predicts where the missiles come down, at one mark."""

    predicted: int  # missiles with a matched prediction
    error_km: float | None  # mean distance predicted -> true impact
    area_km2: float | None  # mean 95% ellipse area


@dataclass
class Figures:
    first_track_s: float | None
    first_warning_s: float | None
    early: Impacts
    late: Impacts
    tracks: int
    messages: int
    reports_fused: float | None = None

    def value(self, attr: str) -> float | None:
        mark, _, name = attr.partition(".")
        if name:
            return getattr(getattr(self, mark), name)
        return getattr(self, attr)


@dataclass
class Reference:
    launch: float  # first launch
    early: float  # a third of the way through the first missile's flight (inf: unknown)
    late: float  # two thirds of the way
    impacts: list[tuple[float, float]] = field(default_factory=list)  # true impact points


def load_views(directory: Path) -> dict[str, list[dict]]:
    folder = Path(directory) / "views"
    if not folder.is_dir():
        raise InputError(f"{directory}: no views/ (run `meshwarn exercise run` first)")
    views = {}
    for path in sorted(folder.glob("*.jsonl")):
        views[path.stem] = read_view_file(path)
    return views


def read_view_file(path: Path) -> list[dict]:
    """A view's messages; a bad one is an error naming the file's line (counting blank lines)."""
    messages = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                message = json.loads(line.rstrip("\r\n"))
            except json.JSONDecodeError as exc:
                # exc.lineno counts within this one line's text (always 1): the file's line is `number`.
                raise InputError(f"{path}:{number}: not JSON ({exc.msg} at column {exc.colno})") from None
            problem = _view_message_problem(message)
            if problem:
                raise InputError(f"{path}:{number}: not a view message ({problem})")
            messages.append(message)
    return messages


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _view_message_problem(message: object) -> str | None:
    """What is wrong with one view message, for the figures read from it; None if nothing."""
    if not isinstance(message, dict):
        return f"a JSON {type(message).__name__}, not an object"
    if not isinstance(message.get("kind"), str):
        return "no kind"
    for key in ("time", "release"):
        if not _number(message.get(key)):
            return f"{key} is not a number"
    body = message.get("body")
    if not isinstance(body, dict):
        return "body is not an object"
    if message["kind"] in ("tracks", "impacts"):
        if not isinstance(message.get("ref"), str):
            return "a track without ref"
        impact = body.get("impact")
        ellipse = impact.get("ellipse") if isinstance(impact, dict) else None
        if impact is not None and not (
            isinstance(ellipse, dict)
            and all(_number(ellipse.get(k)) for k in ("lat", "lon", "semi_major_km", "semi_minor_km"))
        ):
            return "impact without an ellipse of lat, lon, semi_major_km, semi_minor_km"
    return None


def launch_reference(directory: Path, views: dict[str, list[dict]]) -> Reference:
    """Launches and impacts from truth.json; without one, the first message's time only."""
    path = Path(directory) / TRUTH
    if path.exists():
        try:
            objects = [o for o in json.loads(path.read_bytes())["objects"] if o["kind"] == "missile"]
            if objects:
                first = min(objects, key=lambda o: o["launch_time"])
                flight = first["impact_time"] - first["launch_time"]
                impacts = [(float(o["impact_lat"]), float(o["impact_lon"])) for o in objects]
                return Reference(
                    first["launch_time"],
                    first["launch_time"] + flight / 3,
                    first["launch_time"] + 2 * flight / 3,
                    impacts,
                )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path}: not the truth of an exercise ({type(exc).__name__}: {exc})") from None
    times = [m["time"] for msgs in views.values() for m in msgs]
    return Reference(min(times) if times else 0.0, math.inf, math.inf)


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def impacts_at(tracks: list[dict], by: float, truth: list[tuple[float, float]]) -> Impacts:
    """The latest prediction of each track released by `by` (deleted tracks keep their last one)."""
    latest: dict[str, dict] = {}
    for m in tracks:
        if m["release"] <= by and m["body"].get("impact"):
            latest[m["ref"]] = m["body"]["impact"]["ellipse"]
    pairs = sorted(
        (distance_km((e["lat"], e["lon"]), point), ref, index)
        for ref, e in latest.items()
        for index, point in enumerate(truth)
    )
    used_tracks, used_truth, matched = set(), set(), []
    for dist, ref, index in pairs:  # greedy one-to-one, nearest first, within a gate
        e = latest[ref]
        if ref in used_tracks or index in used_truth or dist > max(GATE_KM, 3 * e["semi_major_km"]):
            continue
        used_tracks.add(ref)
        used_truth.add(index)
        matched.append((dist, math.pi * e["semi_major_km"] * e["semi_minor_km"]))
    if not matched:
        return Impacts(0, None, None)
    return Impacts(
        len(matched),
        sum(d for d, _ in matched) / len(matched),
        sum(a for _, a in matched) / len(matched),
    )


def figures(messages: list[dict], ref: Reference, any_alerts: bool) -> Figures:
    t0 = ref.launch
    tracks = [m for m in messages if m["kind"] in ("tracks", "impacts")]
    confirmed = [m["release"] for m in tracks if m["body"].get("status") == "confirmed"]
    first_track = min(confirmed) - t0 if confirmed else None
    warnings = [
        m["release"] for m in messages if m["kind"] == "alerts" and m["body"].get("msg_type") == "Alert"
    ]
    first_warning = (min(warnings) - t0 if warnings else None) if any_alerts else None
    early, late = (
        impacts_at(tracks, mark, ref.impacts) if math.isfinite(mark) else Impacts(0, None, None)
        for mark in (ref.early, ref.late)
    )
    return Figures(first_track, first_warning, early, late, len({m["ref"] for m in tracks}), len(messages))


def reports_fused(directory: Path) -> dict[str, float]:
    """Per partner, how many accepted reports it may see (empty without a store)."""
    path = Path(directory) / "store.sqlite"
    if not path.exists():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        counts: dict[str, float] = {}
        for (visible,) in db.execute("SELECT visible_to FROM reports"):
            for partner in visible.split(","):
                counts[partner] = counts.get(partner, 0) + 1
        return counts
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{path}: not a meshwarn store ({exc})") from None
    finally:
        db.close()


def compare(dir_a: Path, dir_b: Path) -> dict[str, tuple[Figures | None, Figures | None]]:
    result: dict[str, list[Figures | None]] = {}
    for index, directory in enumerate((dir_a, dir_b)):
        views = load_views(directory)
        ref = launch_reference(directory, views)
        any_alerts = any(m["kind"] == "alerts" for msgs in views.values() for m in msgs)
        fused = reports_fused(directory)
        for partner, messages in views.items():
            found = figures(messages, ref, any_alerts)
            found.reports_fused = fused.get(partner)
            result.setdefault(partner, [None, None])[index] = found
    return {p: (a, b) for p, (a, b) in sorted(result.items())}


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit in ("", "missiles"):
        return f"{value:,.0f}"
    if unit == "km²":
        return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.2f} {unit}"
    return f"{value:.{_digits(value, unit)}f} {unit}"


def _digits(value: float, unit: str) -> int:
    """Sub-10 km errors get two decimals, so a change never shows between two equal-looking values."""
    return 2 if unit == "km" and abs(value) < 10 else 1


def _change(a: float | None, b: float | None, unit: str) -> str:
    if a is None or b is None:
        return "—" if a is None and b is None else ("new" if a is None else "lost")
    delta = b - a
    if unit in ("", "missiles"):
        return f"{delta:+,.0f}"
    if unit == "km²":
        return f"{delta:+,.2f} km² ({(b / a - 1) * 100 if a else 0:+.0f}%)"
    digits = max(_digits(a, unit), _digits(b, unit))
    delta = round(b, digits) - round(a, digits)  # the change between the values as shown
    return f"{delta:+.{digits}f} {unit}"


ROWS = (
    ("reports in its picture", "reports_fused", ""),
    ("time to first track", "first_track_s", "s"),
    ("time to first warning", "first_warning_s", "s"),
    ("missiles predicted, early", "early.predicted", "missiles"),
    ("impact error, early", "early.error_km", "km"),
    ("impact-ellipse area, early", "early.area_km2", "km²"),
    ("impact error, late", "late.error_km", "km"),
    ("impact-ellipse area, late", "late.area_km2", "km²"),
)


def print_table(dir_a: Path, dir_b: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{dir_a.name} → {dir_b.name} (times after first launch, at release to the partner)")
    for column in ("partner", "figure", str(dir_a.name), str(dir_b.name), "change"):
        table.add_column(column, justify="left" if column in ("partner", "figure") else "right")
    for partner, (fa, fb) in compare(dir_a, dir_b).items():
        for index, (title, attr, unit) in enumerate(ROWS):
            a = fa.value(attr) if fa else None
            b = fb.value(attr) if fb else None
            table.add_row(
                partner if index == 0 else "", title, _fmt(a, unit), _fmt(b, unit), _change(a, b, unit)
            )
        table.add_section()
    Console(width=120).print(table)
