"""What one sharing arrangement changes against another, per partner, from two exercise directories.

Figures per partner, from its view (DIR/views/<PARTNER>.jsonl, release times):
- time to first track: first confirmed track (or impact notice) after the first launch;
- time to first warning: first alert after the first launch ("n/a" when no view holds alerts);
- impact-ellipse area: the 95% ellipse of the latest prediction released by a given time on
  each of the partner's main tracks (as many as missiles flew, those with most reports), mean
  over them, km^2: early (a third of the way through the first missile's flight, when warnings
  are decided) and final.
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from meshwarn.errors import InputError
from meshwarn.exercise import TRUTH


@dataclass
class Figures:
    first_track_s: float | None
    first_warning_s: float | None
    early_ellipse_km2: float | None
    ellipse_km2: float | None
    tracks: int
    messages: int
    reports_fused: float | None = None  # reports its picture may be made of (from the store)


def load_views(directory: Path) -> dict[str, list[dict]]:
    folder = Path(directory) / "views"
    if not folder.is_dir():
        raise InputError(f"{directory}: no views/ (run `meshwarn exercise run` first)")
    views = {}
    for path in sorted(folder.glob("*.jsonl")):
        with path.open() as lines:
            try:
                views[path.stem] = [json.loads(line) for line in lines if line.strip()]
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{exc.lineno}: not JSON ({exc.msg})") from None
    return views


@dataclass
class Reference:
    launch: float  # first launch
    early: float  # a third of the way through the first missile's flight
    missiles: int


def launch_reference(directory: Path, views: dict[str, list[dict]]) -> Reference:
    """Launch times from truth.json; without one, the first message's time and no early mark."""
    path = Path(directory) / TRUTH
    if path.exists():
        objects = [o for o in json.loads(path.read_bytes())["objects"] if o["kind"] == "missile"]
        if objects:
            first = min(objects, key=lambda o: o["launch_time"])
            early = first["launch_time"] + (first["impact_time"] - first["launch_time"]) / 3
            return Reference(first["launch_time"], early, len(objects))
    times = [m["time"] for msgs in views.values() for m in msgs]
    start = min(times) if times else 0.0
    return Reference(start, math.inf, 1)


def ellipse_area(tracks: list[dict], by: float, missiles: int) -> float | None:
    latest: dict[str, dict] = {}
    for m in tracks:
        if m["release"] <= by and m["body"].get("impact"):
            latest[m["ref"]] = m["body"]
    main = sorted(latest.values(), key=lambda b: b.get("report_count", 0), reverse=True)[:missiles]
    areas = [
        math.pi * b["impact"]["ellipse"]["semi_major_km"] * b["impact"]["ellipse"]["semi_minor_km"]
        for b in main
    ]
    return sum(areas) / len(areas) if areas else None


def figures(messages: list[dict], ref: Reference, any_alerts: bool) -> Figures:
    t0 = ref.launch
    tracks = [m for m in messages if m["kind"] in ("tracks", "impacts")]
    confirmed = [m["release"] for m in tracks if m["body"].get("status") == "confirmed"]
    first_track = min(confirmed) - t0 if confirmed else None
    warnings = [
        m["release"] for m in messages if m["kind"] == "alerts" and m["body"].get("msg_type") == "Alert"
    ]
    first_warning = (min(warnings) - t0 if warnings else None) if any_alerts else None
    early = ellipse_area(tracks, ref.early, ref.missiles) if math.isfinite(ref.early) else None
    final = ellipse_area(tracks, math.inf, ref.missiles)
    return Figures(first_track, first_warning, early, final, len({m["ref"] for m in tracks}), len(messages))


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
    if not unit:
        return f"{value:,.0f}"
    if unit == "km²":
        return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.2f} {unit}"
    return f"{value:.1f} {unit}"


def _change(a: float | None, b: float | None, unit: str) -> str:
    if a is None or b is None:
        return "—" if a is None and b is None else ("new" if a is None else "lost")
    delta = b - a
    if not unit:
        return f"{delta:+,.0f}"
    if unit == "km²":
        return f"{delta:+,.2f} km² ({(b / a - 1) * 100 if a else 0:+.0f}%)"
    return f"{delta:+.1f} s"


ROWS = (
    ("reports in its picture", "reports_fused", ""),
    ("time to first track", "first_track_s", "s"),
    ("time to first warning", "first_warning_s", "s"),
    ("impact-ellipse area, early", "early_ellipse_km2", "km²"),
    ("impact-ellipse area, final", "ellipse_km2", "km²"),
)


def print_table(dir_a: Path, dir_b: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{dir_a.name} → {dir_b.name} (times after first launch, at release to the partner)")
    for column in ("partner", "figure", str(dir_a.name), str(dir_b.name), "change"):
        table.add_column(column, justify="left" if column in ("partner", "figure") else "right")
    for partner, (fa, fb) in compare(dir_a, dir_b).items():
        for index, (title, attr, unit) in enumerate(ROWS):
            a = getattr(fa, attr) if fa else None
            b = getattr(fb, attr) if fb else None
            table.add_row(
                partner if index == 0 else "", title, _fmt(a, unit), _fmt(b, unit), _change(a, b, unit)
            )
        table.add_section()
    Console(width=120).print(table)
