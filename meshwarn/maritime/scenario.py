"""Checks of a maritime traffic scenario (TOML) before anything is simulated.

The checks mirror the missile-exercise loader (meshwarn.sim.scenario): a bad value is an
InputError naming the file, the line where it can be found, the table and the field. The
scenario stays a plain dict for the simulator; this module only says whether it is sound.
The format is the shipped meshwarn/scenarios/maritime-east-asia.toml, a worked example.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path
from typing import Any

from meshwarn.errors import InputError
from meshwarn.model import Label
from meshwarn.sim.scenario import HEADER_RE, _label_fields, _partner_code, _Table

SENSOR_KINDS = ("coastal_radar", "patrol_aircraft", "satellite")
MAX_VESSELS = 100_000
# The simulated world is held whole in memory, a few float arrays of (steps, vessels, 2).
MAX_STEP_VESSELS = 20_000_000


class _Section(_Table):
    """A single [table] (such as [traffic]), as opposed to an array of tables ([[sensors]])."""

    def where(self, key: str | None = None) -> str:
        line = _section_line(self.text, str(self.array), key)
        place = f"{self.path}:{line}" if line else str(self.path)
        return f"{place}: [{self.array}]"


def _section_line(text: str, section: str, key: str | None) -> int | None:
    """The line of `key` in the [section] table (or of its header), if it is there."""
    key_re = re.compile(rf"^\s*{re.escape(key)}\s*=") if key else None
    inside = False
    for number, line in enumerate(text.splitlines(), start=1):
        match = HEADER_RE.match(line)
        if match:
            inside = match.group(1).strip() == section
            if inside and key_re is None:
                return number
        elif inside and key_re and key_re.match(line):
            return number
    return None


def check_scenario(data: dict[str, Any], path: Path, text: str) -> None:
    """Raise InputError on the first unsound field of a maritime scenario."""
    top = _Table(data, path, text, None, 0)
    if "launches" in data and "traffic" not in data:
        raise top.fail(
            None, "a missile exercise ([[launches]]), not a maritime scenario: use `exercise simulate`"
        )
    top.text_field("name")
    if not isinstance(top.get("description", ""), str):
        raise top.fail("description", "description must be a string")
    _start(top)
    duration_h = top.number("duration_h", None, 0.0, 168.0, open_lo=True)
    step_s = top.number("step_s", 60.0, 1.0, 3600.0)
    if step_s >= duration_h * 3600:
        raise top.fail("step_s", f"step_s {step_s:g} must be shorter than duration_h ({duration_h:g} h)")
    seed = top.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise top.fail("seed", f"seed must be a non-negative integer, got {seed!r}")
    if top.has("frame"):
        _points(top, "frame", 1, 1, pair=True)
    vessels = _traffic(_section(top, "traffic", required=True), bool(data.get("patrols")))
    steps = int(duration_h * 3600 / step_s) + 1
    if steps * vessels > MAX_STEP_VESSELS:
        raise top.fail(
            "duration_h",
            f"{vessels} vessels over {steps} steps of {step_s:g} s is too large a world to hold in memory "
            f"(steps x vessels at most {MAX_STEP_VESSELS:,}): fewer vessels, a shorter duration or a longer step",
        )
    _ais(_section(top, "ais", required=False))
    for t in _array(top, "ports"):
        t.text_field("name")
        _latlon(t)
        t.check_unused()
    for key, needed in (("lanes", 1), ("fishing_grounds", 1), ("patrols", 0)):
        tables = _array(top, key)
        if len(tables) < needed:
            raise top.fail(key, f"no [[{key}]]: a scenario needs at least one")
        for t in tables:
            _route_or_ground(t, key)
    for t in _array(top, "rendezvous"):
        _latlon(t)
        t.number("at_h", None, 0.0, 1e4)  # after the end is allowed: it just does not happen
        t.number("duration_h", 1.0, 0.0, 168.0, open_lo=True)
        t.number("separation_m", 150.0, 0.0, 1e5)
        t.check_unused()
    for t in _array(top, "zones"):
        _zone(t)
    names: set[str] = set()
    for t in _array(top, "sensors"):
        name = t.text_field("name")
        if name in names:
            raise t.fail("name", f"sensor name {name!r} is used twice (report ids would collide)")
        names.add(name)
        _sensor(t)
    top.check_unused()


def _start(top: _Table) -> None:
    value = top.get("start")
    if value is None:
        raise top.missing("start")
    if isinstance(value, dt.datetime):
        if value.utcoffset() is None:
            raise top.fail("start", f"start must be a UTC time ending in Z, got {value.isoformat()}")
    elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise top.fail(
            "start", f"start must be a UTC date and time (e.g. 2026-03-10T00:00:00Z), got {value!r}"
        )


def _section(top: _Table, key: str, *, required: bool) -> _Section:
    value = top.get(key)
    if value is None and not required:
        value = {}
    if not isinstance(value, dict):
        raise top.fail(key, f"[{key}] must be a table" if value is not None else f"missing table [{key}]")
    return _Section(value, top.path, top.text, key, 0)


def _array(top: _Table, key: str) -> list[_Table]:
    items = top.get(key, [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise top.fail(key, f"{key} must be an array of tables ([[{key}]])")
    return [_Table(item, top.path, top.text, key, i) for i, item in enumerate(items)]


def _count(t: _Table, key: str, default: int | None) -> int:
    value = t.number(key, default, 0.0, MAX_VESSELS)
    if value != int(value):
        raise t.fail(key, f"{key} must be a whole number, got {value:g}")
    return int(value)


def _traffic(t: _Section, has_patrols: bool) -> int:
    """Check [traffic]; the number of vessels it makes."""
    merchant, fishing = _count(t, "merchant", None), _count(t, "fishing", None)
    patrol = _count(t, "patrol", 0)
    if patrol and not has_patrols:
        raise t.fail("patrol", f"patrol = {patrol} but there are no [[patrols]] routes to sail")
    misbehaving = sum(_count(t, key, 0) for key in ("dark", "gaps", "spoofers"))
    if misbehaving > merchant + fishing:
        raise t.fail(
            "dark",
            f"dark + gaps + spoofers ({misbehaving}) exceed the merchant and fishing vessels ({merchant + fishing})",
        )
    t.number("loiter_fraction", 0.1, 0.0, 1.0)
    t.number("ais_loss", 0.0, 0.0, 1.0)
    period = t.get("ais_period_s", [60, 180])
    if not (
        isinstance(period, list)
        and len(period) == 2
        and all(_finite(p) for p in period)
        and 1 <= period[0] <= period[1] <= 86400
    ):
        raise t.fail(
            "ais_period_s", f"ais_period_s must be [min_s, max_s] with 1 <= min <= max, got {period!r}"
        )
    t.check_unused()
    return merchant + fishing + patrol


def _ais(t: _Section) -> None:
    t.number("partner_by_lon", 128.8, -180.0, 360.0)
    t.number("latency_s", 2.0, 0.0, 86400.0)
    # Both AIS receivers (KOR west of partner_by_lon, JPN east of it) share these label fields.
    _label_fields(t, "KOR", Label("KOR", "UNCLASSIFIED", ("KOR",)), ())
    t.check_unused()


def _latlon(t: _Table) -> None:
    t.number("lat", None, -90.0, 90.0)
    t.number("lon", None, -180.0, 360.0)


def _points(t: _Table, key: str, least: int, most: int | None = None, *, pair: bool = False) -> list:
    """[[lat, lon], ...] (or one [lat, lon] with pair) of at least `least` points, each in range."""
    value = t.get(key)
    if value is None:
        raise t.missing(key)
    points = [value] if pair else value
    shape = "[lat, lon]" if pair else "[[lat, lon], ...]"
    if not isinstance(points, list) or len(points) < least or (most is not None and len(points) > most):
        raise t.fail(key, f"{key} must be {shape} with at least {least} point(s), got {value!r}")
    for point in points:
        ok = isinstance(point, list) and len(point) == 2 and all(_finite(x) for x in point)
        if not ok or not (-90 <= point[0] <= 90 and -180 <= point[1] <= 360):
            raise t.fail(key, f"{key}: {point!r} is not a [lat, lon] pair in degrees (lat -90..90)")
    return points


def _route_or_ground(t: _Table, key: str) -> None:
    if t.has("name"):
        t.text_field("name")
    if key == "fishing_grounds":
        _latlon(t)
        t.number("radius_km", None, 0.0, 2000.0, open_lo=True)
        t.number("share", 1.0, 0.0, 1e6, open_lo=True)
    else:
        points = _points(t, "points", 2)
        if any(a == b for a, b in zip(points, points[1:], strict=False)):
            raise t.fail("points", "points repeats a waypoint back to back (a leg of length zero)")
    t.check_unused()


def _zone(t: _Table) -> None:
    t.text_field("name")
    if t.has("polygon"):
        _points(t, "polygon", 3)
    elif t.has("region"):
        t.text_field("region")
    else:
        raise t.fail(None, "a zone needs polygon = [[lat, lon], ...] (or region = a region code)")
    t.check_unused()


def _sensor(t: _Table) -> None:
    kind = t.text_field("kind")
    if kind not in SENSOR_KINDS:
        raise t.fail("kind", f"unknown sensor kind {kind!r}; known: {', '.join(SENSOR_KINDS)}")
    partner = _partner_code(t, "partner")
    _label_fields(t, partner, Label(partner, "UNCLASSIFIED", (partner,)), ())
    t.number("sigma_m", 200.0, 0.0, 1e5, open_lo=True)
    t.number("pd", 0.9, 0.0, 1.0)
    t.number("latency_s", 5.0, 0.0, 86400.0)
    if kind == "satellite":
        _passes(t)
    else:
        if kind == "coastal_radar":
            _latlon(t)
        else:
            _points(t, "route", 2)
            t.number("speed_kn", 300.0, 0.0, 2000.0, open_lo=True)
            start_h = t.number("start_h", 0.0, 0.0, 1e4)
            if t.number("end_h", 99.0, 0.0, 1e4) <= start_h:
                raise t.fail("end_h", "end_h must be after start_h")
        t.number("range_km", None, 0.0, 5000.0, open_lo=True)
        t.number("scan_s", 300.0, 1.0, 86400.0)
        t.number("clutter_per_scan", 0.0, 0.0, 1000.0)
    t.check_unused()


def _passes(t: _Table) -> None:
    passes = t.get("passes")
    if passes is None:
        raise t.missing("passes")
    if not isinstance(passes, list) or not passes:
        raise t.fail("passes", "passes must be [[hour, lat0, lon0, lat1, lon1], ...]")
    for one in passes:
        ok = isinstance(one, list) and len(one) == 5 and all(_finite(x) for x in one)
        if not ok or not (0 <= one[0] and -90 <= one[1] <= one[3] <= 90 and -180 <= one[2] <= one[4] <= 360):
            raise t.fail(
                "passes",
                f"pass {one!r} must be [hour (>= 0), lat0, lon0, lat1, lon1] with lat0 <= lat1 "
                "and lon0 <= lon1",
            )


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def load_checked(path: Path) -> dict[str, Any]:
    """The scenario file as a dict, once it passed the checks."""
    import tomllib

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such scenario")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not a text file ({exc.reason} at byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    check_scenario(data, path, text)
    return data
