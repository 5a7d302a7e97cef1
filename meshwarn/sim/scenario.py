"""Exercise scenarios as TOML files: partners, sensors, links, launches.

A scenario is loaded and checked in full before anything is simulated; a bad one
raises InputError naming the file, the line where it can be found, and the problem.
The format, in brief (the shipped files in meshwarn/scenarios/ are worked examples):

    name = "..."; description = "..."; start = 2022-10-03T22:21:00Z; seed = 1; duration_s = 900
    [[partners]]  code, classification, releasable_to            (the default label of its reports)
    [[links]]     partner, latency_s, jitter_s, outages_per_hour, outage_mean_s, outages = [[a, b], ...]
    [[sensors]]   name, kind (ground_radar | ship_radar | ir_satellite), partner, site or lat/lon, h, ...
    [[launches]]  id, site or lat/lon, time_s, azimuth_deg, apogee_km + range_km
                  (or burnout_speed_mps + flight_path_deg), booster
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import math
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from meshwarn.errors import InputError
from meshwarn.model import CLASSIFICATIONS, Label
from meshwarn.sim.links import Link
from meshwarn.sim.sensors import GEO_HEIGHT_M, GroundRadar, IrSatellite, RadarSpec, Sensor, ShipRadar

SENSOR_KINDS = ("ground_radar", "ship_radar", "ir_satellite")
PARTNER_RE = re.compile(r"^[A-Z]{3}$")
HEADER_RE = re.compile(r"^\s*\[(\[?\s*[A-Za-z_][\w.\-]*\s*\]?)\]\s*(?:#.*)?$")
DATA = resources.files("meshwarn") / "data"


@dataclass(frozen=True)
class LaunchSpec:
    id: str
    site: str
    lat: float
    lon: float
    time: float  # absolute
    azimuth_deg: float
    apogee_km: float | None = None
    range_km: float | None = None
    burnout_speed_mps: float | None = None
    flight_path_deg: float | None = None
    booster: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    path: Path
    text: str
    start: float
    seed: int
    duration_s: float | None
    labels: dict[str, Label]  # each partner's default label
    sensors: list[Sensor]
    links: dict[str, Link]
    launches: list[LaunchSpec]

    def where(self, launch: LaunchSpec) -> str:
        """Where a launch is in the file, for errors found while solving it."""
        index = self.launches.index(launch)
        line = _find_line(self.text, "launches", index, None)
        return f"{self.path}:{line}" if line else str(self.path)


# --- locating problems in the file -------------------------------------------------------------


def _find_line(text: str, array: str | None, index: int, key: str | None) -> int | None:
    """The line of `key` in the index-th [[array]] table (or at the top level), if it is there."""
    key_re = re.compile(rf"^\s*{re.escape(key)}\s*=") if key else None
    count, inside = -1, array is None
    for number, line in enumerate(text.splitlines(), start=1):
        match = HEADER_RE.match(line)
        if match:
            if array is None:
                return None  # the top level ends at the first table
            if match.group(1).replace(" ", "") == f"[{array}]":
                count += 1
                inside = count == index
                if inside and key_re is None:
                    return number
            else:
                inside = False
        elif inside and key_re and key_re.match(line):
            return number
    return None


class _Table:
    """One table of the file, read with checks that name the file, the line and the field."""

    def __init__(self, data: dict[str, Any], path: Path, text: str, array: str | None, index: int) -> None:
        self.data, self.path, self.text, self.array, self.index = data, path, text, array, index
        self.used: set[str] = set()

    def where(self, key: str | None = None) -> str:
        line = _find_line(self.text, self.array, self.index, key)
        place = f"{self.path}:{line}" if line else str(self.path)
        if self.array is None:
            return place
        name = (
            self.data.get("name") or self.data.get("id") or self.data.get("code") or self.data.get("partner")
        )
        label = f" ({name})" if isinstance(name, str) else ""
        return f"{place}: {self.array}[{self.index + 1}]{label}"

    def fail(self, key: str | None, problem: str) -> InputError:
        return InputError(f"{self.where(key)}: {problem}")

    def missing(self, key: str) -> InputError:
        """A missing field; a field of nearly the same name is named as its likely misspelling."""
        close = difflib.get_close_matches(key, [k for k in self.data if k not in self.used], n=1, cutoff=0.75)
        if close:
            return self.fail(close[0], f"unknown field {close[0]!r} (missing field {key!r}: misspelt?)")
        return self.fail(None, f"missing field {key!r}")

    def has(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return self.data.get(key, default)

    def text_field(self, key: str, default: str | None = None) -> str:
        value = self.get(key, default)
        if value is None:
            raise self.missing(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"{key} must be a non-empty string, got {value!r}")
        return value

    def number(
        self,
        key: str,
        default: float | None = None,
        lo: float = -math.inf,
        hi: float = math.inf,
        *,
        open_lo: bool = False,
    ) -> float:
        value = self.get(key, default)
        if value is None:
            raise self.missing(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(key, f"{key} must be a number, got {value!r}")
        if value < lo or value > hi or (open_lo and value == lo):
            low = f"above {lo:g}" if open_lo else f"at least {lo:g}"
            bound = f"{low} and at most {hi:g}" if math.isfinite(hi) else low
            if not math.isfinite(lo):
                bound = f"at most {hi:g}"
            raise self.fail(key, f"{key} {value:g} is out of range (must be {bound})")
        return float(value)

    def maybe(
        self, key: str, lo: float = -math.inf, hi: float = math.inf, *, open_lo: bool = False
    ) -> float | None:
        return self.number(key, None, lo, hi, open_lo=open_lo) if self.has(key) else None

    def latlon(self, sites: dict[str, tuple[float, float]], what: str) -> tuple[str, float, float]:
        """(site name, lat, lon) from `site` (looked up by name) or from `lat` and `lon`."""
        site = ""
        lat = lon = None
        if self.has("site"):
            site, (lat, lon) = _lookup(self, sites, what)
        if self.has("lat") or lat is None:
            lat = self.number("lat", lat, -90.0, 90.0)
        if self.has("lon") or lon is None:
            lon = self.number("lon", lon, -180.0, 360.0)
        return site, float(lat), float(lon)

    def check_unused(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.fail(unknown[0], f"unknown field {unknown[0]!r}")


def _lookup(
    table: _Table, sites: dict[str, tuple[float, float]], what: str
) -> tuple[str, tuple[float, float]]:
    name = table.text_field("site")
    matches = [s for s in sites if name.lower() == s.lower()] or [
        s for s in sites if name.lower() in s.lower()
    ]
    if len(matches) != 1:
        problem = "matches several" if matches else "matches none"
        raise table.fail(
            "site", f"site {name!r} {problem} of the known {what}: {'; '.join(matches or sites)}"
        )
    return matches[0], sites[matches[0]]


def _read_sites(filename: str, column: str) -> dict[str, tuple[float, float]]:
    with (DATA / filename).open(encoding="utf-8") as rows:
        return {row[column]: (float(row["lat"]), float(row["lon"])) for row in csv.DictReader(rows)}


# --- loading ---------------------------------------------------------------------------------


def shipped_scenarios() -> list[str]:
    """The shipped missile-exercise scenarios (the folder also holds other stages' scenarios)."""
    folder = resources.files("meshwarn") / "scenarios"
    return sorted(
        p.name.removesuffix(".toml")
        for p in folder.iterdir()
        if p.name.endswith(".toml") and "[[launches]]" in p.read_text(encoding="utf-8")
    )


def resolve(ref: str | Path) -> Path:
    """A scenario path, or the bare name of a shipped scenario."""
    path = Path(ref)
    if path.is_file():
        return path
    name = str(ref).removesuffix(".toml")
    shipped = resources.files("meshwarn") / "scenarios" / f"{name}.toml"
    if "/" not in name and shipped.is_file():
        return Path(str(shipped))
    raise InputError(f"{ref}: no such scenario file; shipped scenarios: {', '.join(shipped_scenarios())}")


def load_scenario(ref: str | Path) -> Scenario:
    path = resolve(ref)
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    return parse_scenario(data, path, text)


def parse_scenario(data: dict[str, Any], path: Path, text: str) -> Scenario:
    top = _Table(data, path, text, None, 0)
    if "traffic" in data and "launches" not in data:
        raise top.fail(
            None, "a maritime traffic scenario ([traffic], no [[launches]]), not a missile exercise"
        )
    name = top.text_field("name", path.stem)
    description = top.get("description", "")
    start = _start_time(top)
    seed = top.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise top.fail("seed", f"seed must be a non-negative integer, got {seed!r}")
    duration = top.maybe("duration_s", 0.0, 86400.0, open_lo=True)
    labels = _partners(_tables(top, "partners"))
    sensors = _sensors(_tables(top, "sensors"), labels)
    links = _links(_tables(top, "links"), labels)
    launches = _launches(_tables(top, "launches"), start)
    top.check_unused()
    if not launches:
        raise top.fail(None, "no [[launches]]: a scenario needs at least one launch")
    if not sensors:
        raise top.fail(None, "no [[sensors]]: a scenario needs at least one sensor")
    return Scenario(
        name, str(description), path, text, start, seed, duration, labels, sensors, links, launches
    )


def _start_time(top: _Table) -> float:
    value = top.get("start")
    if value is None:
        raise top.fail(None, "missing field 'start' (UTC, e.g. start = 2022-10-03T22:21:00Z)")
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise top.fail("start", f"start {value!r} is not an ISO 8601 time") from None
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise top.fail("start", f"start must be a UTC date and time ending in Z, got {value!r}")
    return value.timestamp()


def _tables(top: _Table, key: str) -> list[_Table]:
    items = top.get(key, [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise top.fail(key, f"{key} must be an array of tables ([[{key}]])")
    return [_Table(item, top.path, top.text, key, i) for i, item in enumerate(items)]


def _partner_code(table: _Table, key: str) -> str:
    code = table.text_field(key)
    if not PARTNER_RE.match(code):
        raise table.fail(key, f"{key} {code!r} is not an ISO 3166 alpha-3 code (e.g. KOR)")
    return code


def _label_fields(table: _Table, originator: str, default: Label | None, everyone: tuple[str, ...]) -> Label:
    classification = table.get("classification", default.classification if default else "SECRET")
    if classification not in CLASSIFICATIONS:
        raise table.fail(
            "classification", f"classification {classification!r} is not one of {', '.join(CLASSIFICATIONS)}"
        )
    releasable = table.get("releasable_to", list(default.releasable_to) if default else list(everyone))
    if not isinstance(releasable, list) or not all(
        isinstance(p, str) and PARTNER_RE.match(p) for p in releasable
    ):
        raise table.fail(
            "releasable_to", f"releasable_to must be a list of alpha-3 codes, got {releasable!r}"
        )
    return Label(originator=originator, classification=classification, releasable_to=tuple(releasable))


def _partners(tables: list[_Table]) -> dict[str, Label]:
    codes = tuple(t.data.get("code", "") for t in tables)
    labels: dict[str, Label] = {}
    for table in tables:
        code = _partner_code(table, "code")
        if code in labels:
            raise table.fail("code", f"partner {code} is declared twice")
        labels[code] = _label_fields(table, code, None, tuple(str(c) for c in codes))
        table.check_unused()
    if not labels:
        raise InputError("no [[partners]]: a scenario needs at least one partner")
    return labels


def _radar_spec(t: _Table) -> RadarSpec:
    spec = RadarSpec(
        max_range_km=t.number("max_range_km", None, 0.0, 10000.0, open_lo=True),
        period_s=t.number("period_s", None, 0.1, 600.0),
        azimuth_min_deg=t.number("azimuth_min_deg", 0.0, -360.0, 360.0),
        azimuth_max_deg=t.number("azimuth_max_deg", 360.0, -360.0, 720.0),
        min_elevation_deg=t.number("min_elevation_deg", 0.0, -10.0, 89.0),
        sigma_range_m=t.number("sigma_range_m", 100.0, 0.0, 1e5, open_lo=True),
        sigma_azimuth_deg=t.number("sigma_azimuth_deg", 0.1, 0.0, 10.0, open_lo=True),
        sigma_elevation_deg=t.number("sigma_elevation_deg", 0.1, 0.0, 10.0, open_lo=True),
        sigma_range_rate_mps=t.maybe("sigma_range_rate_mps", 0.0, 1e3, open_lo=True),
        detection_probability=t.number("detection_probability", 0.95, 0.0, 1.0),
        false_alarms_per_scan=t.number("false_alarms_per_scan", 0.0, 0.0, 100.0),
    )
    if spec.azimuth_min_deg == spec.azimuth_max_deg:
        raise t.fail("azimuth_max_deg", "the coverage sector is empty (azimuth_min_deg == azimuth_max_deg)")
    return spec


def _sensors(tables: list[_Table], labels: dict[str, Label]) -> list[Sensor]:
    radar_sites = _read_sites("sites.csv", "name")
    sensors: list[Sensor] = []
    for t in tables:
        name = t.text_field("name")
        if any(s.name == name for s in sensors):
            raise t.fail("name", f"sensor name {name!r} is used twice")
        kind = t.text_field("kind")
        if kind not in SENSOR_KINDS:
            raise t.fail("kind", f"unknown sensor kind {kind!r}; known: {', '.join(SENSOR_KINDS)}")
        partner = _partner_code(t, "partner")
        if partner not in labels:
            raise t.fail("partner", f"partner {partner} is not declared in [[partners]]")
        label = _label_fields(t, partner, labels[partner], ())
        if kind == "ir_satellite":
            sensors.append(
                IrSatellite(
                    name,
                    label,
                    lat=t.number("lat", 0.0, -90.0, 90.0),
                    lon=t.number("lon", None, -180.0, 360.0),
                    h=t.number("h", GEO_HEIGHT_M, 100e3, 1e8),
                    period_s=t.number("period_s", None, 0.1, 600.0),
                    sigma_deg=t.number("sigma_deg", None, 0.0, 10.0, open_lo=True),
                    detection_probability=t.number("detection_probability", 0.98, 0.0, 1.0),
                )
            )
        elif kind == "ground_radar":
            _, lat, lon = t.latlon(radar_sites, "radar sites (meshwarn/data/sites.csv)")
            h = t.number("h", 0.0, -500.0, 9000.0)
            sensors.append(GroundRadar(name, label, lat, lon, h, _radar_spec(t)))
        else:
            lat, lon = t.number("lat", None, -90.0, 90.0), t.number("lon", None, -180.0, 360.0)
            sensors.append(
                ShipRadar(
                    name,
                    label,
                    lat,
                    lon,
                    h=t.number("h", 25.0, 0.0, 200.0),
                    course_deg=t.number("course_deg", 0.0, -360.0, 360.0),
                    speed_mps=t.number("speed_mps", 0.0, 0.0, 40.0),
                    radar=_radar_spec(t),
                    unit_period_s=t.number("unit_period_s", 10.0, 0.1, 3600.0),
                )
            )
        t.check_unused()
    return sensors


def _links(tables: list[_Table], labels: dict[str, Label]) -> dict[str, Link]:
    links: dict[str, Link] = {}
    for t in tables:
        partner = _partner_code(t, "partner")
        if partner not in labels:
            raise t.fail("partner", f"partner {partner} is not declared in [[partners]]")
        if partner in links:
            raise t.fail("partner", f"partner {partner} has two links")
        links[partner] = Link(
            partner,
            latency_s=t.number("latency_s", 0.5, 0.0, 3600.0),
            jitter_s=t.number("jitter_s", 0.2, 0.0, 3600.0),
            outages_per_hour=t.number("outages_per_hour", 0.0, 0.0, 3600.0),
            outage_mean_s=t.number("outage_mean_s", 30.0, 0.0, 86400.0, open_lo=True),
            outages=_outages(t),
        )
        t.check_unused()
    return links


def _outages(t: _Table) -> tuple[tuple[float, float], ...]:
    value = t.get("outages", [])
    ok = isinstance(value, list) and all(
        isinstance(w, list)
        and len(w) == 2
        and all(isinstance(x, int | float) for x in w)
        and 0 <= w[0] < w[1]
        for w in value
    )
    if not ok:
        raise t.fail(
            "outages", f"outages must be [[begin_s, end_s], ...] with 0 <= begin < end, got {value!r}"
        )
    return tuple((float(a), float(b)) for a, b in value)


def _launches(tables: list[_Table], start: float) -> list[LaunchSpec]:
    launch_sites = _read_sites("launch_sites.csv", "site")
    launches: list[LaunchSpec] = []
    for i, t in enumerate(tables):
        ident = t.text_field("id", f"M{i + 1}")
        if any(launch.id == ident for launch in launches):
            raise t.fail("id", f"launch id {ident!r} is used twice")
        site, lat, lon = t.latlon(launch_sites, "launch sites (meshwarn/data/launch_sites.csv)")
        time = start + t.number("time_s", 0.0, 0.0, 86400.0)
        azimuth = t.number("azimuth_deg", None, -360.0, 360.0)
        booster = t.get("booster")
        if booster is not None and booster not in ("srbm", "irbm", "slbm", "icbm"):
            raise t.fail("booster", f"unknown booster {booster!r}; known: srbm, irbm, slbm, icbm")
        by_shape = t.has("apogee_km") or t.has("range_km")
        by_burnout = t.has("burnout_speed_mps") or t.has("flight_path_deg")
        if by_shape == by_burnout:
            raise t.fail(None, "give either apogee_km and range_km, or burnout_speed_mps and flight_path_deg")
        spec = LaunchSpec(ident, site or f"{lat:.3f},{lon:.3f}", lat, lon, time, azimuth, booster=booster)
        if by_shape:
            spec = _replace(
                spec,
                apogee_km=t.number("apogee_km", None, 0.0, 1e5, open_lo=True),
                range_km=t.number("range_km", None, 0.0, 15000.0, open_lo=True),
            )
        else:
            spec = _replace(
                spec,
                burnout_speed_mps=t.number("burnout_speed_mps", None, 200.0, 7500.0),
                flight_path_deg=t.number("flight_path_deg", None, 1.0, 89.0),
            )
        t.check_unused()
        launches.append(spec)
    return launches


def _replace(spec: LaunchSpec, **changes: Any) -> LaunchSpec:
    from dataclasses import replace

    return replace(spec, **changes)
