"""Simulated maritime traffic for exercises: vessels, their AIS, partners' detections, and the truth.

All vessels move together as NumPy arrays (positions in a regional metric frame, one row per vessel),
so thousands of vessels over hours take seconds. The world is kept whole in ``pos[step, vessel]``; AIS
and sensors then sample it. The tracker never sees this module: it meets it only in reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from meshwarn.maritime.frame import LocalFrame, knots_to_mps
from meshwarn.maritime.truth import MaritimeTruth, TruthEvent, TruthVessel
from meshwarn.model import AisPosition, AisStatic, Delivery, Label, Report, SurfaceDetection

MERCHANT, FISHING, PATROL, MEETING = 0, 1, 2, 3
KIND_NAMES = ("merchant", "fishing", "patrol", "meeting")
MIDS = (440, 441, 431, 432, 412, 413, 273, 351, 352, 353, 370, 477, 563)


@dataclass
class World:
    """The simulated world: times (steps,), positions and velocities (steps, vessels, 2) in the frame."""

    frame: LocalFrame
    times: np.ndarray
    pos: np.ndarray
    vel: np.ndarray
    kind: np.ndarray
    mmsi: np.ndarray
    length: np.ndarray
    ais_on: np.ndarray  # (steps, vessels) bool
    ais_offset: np.ndarray  # (steps, vessels, 2) metres added to the AIS position (spoofing)
    events: list[dict]


def load_scenario(path: Path) -> dict:
    """The scenario file as a dict, checked in full first (a bad field is named with its line)."""
    from meshwarn.maritime.scenario import load_checked

    return load_checked(path)


def _start_time(scenario: dict) -> float:
    start = scenario["start"]
    if isinstance(start, datetime):
        return start.timestamp()
    return float(start)


# --- movement -------------------------------------------------------------------------------------


class _Polylines:
    """Lanes as polylines in the frame: position and tangent at a distance along each."""

    def __init__(self, frame: LocalFrame, lanes: list[list[list[float]]]) -> None:
        self.vertices, self.cum = [], []
        for points in lanes:
            lat, lon = np.array(points, dtype=float).T
            xy = np.column_stack(frame.to_xy(lat, lon))
            self.vertices.append(xy)
            self.cum.append(np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]))
        self.length = np.array([c[-1] for c in self.cum])

    def at(self, lane: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos, tangent = np.zeros((len(s), 2)), np.zeros((len(s), 2))
        for k, (xy, cum) in enumerate(zip(self.vertices, self.cum, strict=True)):
            rows = np.flatnonzero(lane == k)
            seg = np.clip(np.searchsorted(cum, s[rows], side="right") - 1, 0, len(cum) - 2)
            d = xy[seg + 1] - xy[seg]
            unit = d / np.hypot(*d.T)[:, None]
            pos[rows] = xy[seg] + unit * (s[rows] - cum[seg])[:, None]
            tangent[rows] = unit
        return pos, tangent


def _lane_movers(rng, lines: _Polylines, n: int, steps: int, dt: float, speed_kn, spread_m: float):
    """Ships sailing polylines back and forth at constant speed with a lateral offset."""
    lane = rng.integers(0, len(lines.length), n)
    s = rng.uniform(0, 1, n) * lines.length[lane]
    direction = rng.choice([-1.0, 1.0], n)
    speed = knots_to_mps(rng.uniform(*speed_kn, n))
    offset = rng.normal(0.0, spread_m, n)
    pos, vel = np.zeros((steps, n, 2)), np.zeros((steps, n, 2))
    for k in range(steps):
        p, tangent = lines.at(lane, s)
        normal = np.column_stack([tangent[:, 1], -tangent[:, 0]])
        pos[k], vel[k] = p + normal * offset[:, None], tangent * (direction * speed)[:, None]
        s = s + direction * speed * dt
        turn = (s < 0) | (s > lines.length[lane])
        direction[turn] *= -1.0
        s = np.clip(s, 0, lines.length[lane])
    return pos, vel


def _fishing(rng, frame, grounds: list[dict], n: int, times: np.ndarray, dt: float, loiter_fraction: float):
    """Trawlers wandering on their grounds at 3-5 kn; some drift on one spot for 2.5-3.5 h."""
    share = np.array([g.get("share", 1.0) for g in grounds], dtype=float)
    ground = rng.choice(len(grounds), n, p=share / share.sum())
    centre = np.column_stack(frame.to_xy([g["lat"] for g in grounds], [g["lon"] for g in grounds]))[ground]
    radius = np.array([g["radius_km"] * 1000.0 for g in grounds])[ground]
    r, a = radius * np.sqrt(rng.uniform(0, 1, n)), rng.uniform(0, 2 * np.pi, n)
    xy = centre + np.column_stack([r * np.cos(a), r * np.sin(a)])
    heading = rng.uniform(0, 2 * np.pi, n)
    speed = knots_to_mps(rng.uniform(3.0, 5.0, n))
    span = times[-1] - times[0]
    loiters = rng.uniform(0, 1, n) < loiter_fraction
    loiter_start = np.where(loiters, times[0] + rng.uniform(0.0, max(span - 3.5 * 3600, 0), n), np.inf)
    loiter_end = loiter_start + rng.uniform(2.5, 3.5, n) * 3600
    pos, vel = np.zeros((len(times), n, 2)), np.zeros((len(times), n, 2))
    for k, t in enumerate(times):
        loitering = (t >= loiter_start) & (t < loiter_end)
        heading += rng.normal(0, np.radians(8), n)
        home = np.arctan2(*(centre - xy).T[::-1])
        away = np.hypot(*(xy - centre).T) > radius
        heading[away] = home[away]
        v = np.where(loitering, 0.1, speed)
        vel[k] = np.column_stack([np.cos(heading), np.sin(heading)]) * v[:, None]
        pos[k] = xy
        xy = xy + vel[k] * dt
    return pos, vel, loiter_start, loiter_end


def _meeting(frame, rng, meet: dict, times: np.ndarray):
    """Two vessels converge on a point, lie together for a while, and part (keyframes, linear between)."""
    mx, my = frame.to_xy(meet["lat"], meet["lon"])
    t_meet = times[0] + meet["at_h"] * 3600
    t_part = t_meet + meet.get("duration_h", 1.0) * 3600
    sep = meet.get("separation_m", 150.0)
    pos, vel = np.zeros((len(times), 2, 2)), np.zeros((len(times), 2, 2))
    for j, bearing in enumerate(rng.uniform(0, 2 * np.pi) + np.array([0.0, 2.3])):
        far = np.array([np.cos(bearing), np.sin(bearing)])
        side = np.array([float(mx), float(my)]) + (j - 0.5) * sep * np.array([-far[1], far[0]])
        speed = knots_to_mps(11.0 - 3.0 * j)
        t_keys = [times[0], t_meet, t_part, times[-1] + 1.0]
        come = side + far * speed * (t_meet - times[0])
        leave = side - far * speed * (times[-1] - t_part)
        drift = np.array([30.0, 30.0])
        keys = np.array([come, side, side + drift, leave])
        for axis in range(2):
            pos[:, j, axis] = np.interp(times, t_keys, keys[:, axis])
        vel[:, j] = np.gradient(pos[:, j], times, axis=0)
    return pos, vel, t_meet, t_part


def build_world(scenario: dict, rng: np.random.Generator) -> World:
    traffic = scenario["traffic"]
    frame = LocalFrame(*scenario.get("frame", (36.0, 128.5)))
    dt = float(scenario.get("step_s", 60))
    start = _start_time(scenario)
    times = start + np.arange(0.0, scenario["duration_h"] * 3600 + dt / 2, dt)
    steps = len(times)
    parts_pos, parts_vel, kinds, events = [], [], [], []

    lanes = _Polylines(frame, [lane["points"] for lane in scenario["lanes"]])
    p, v = _lane_movers(rng, lanes, int(traffic["merchant"]), steps, dt, (10.0, 18.0), 1500.0)
    parts_pos.append(p), parts_vel.append(v), kinds.append(np.full(p.shape[1], MERCHANT))
    n_fish = int(traffic["fishing"])
    p, v, l0, l1 = _fishing(
        rng, frame, scenario["fishing_grounds"], n_fish, times, dt, traffic.get("loiter_fraction", 0.1)
    )
    offset = sum(x.shape[1] for x in parts_pos)
    for j in np.flatnonzero(np.isfinite(l0)):
        events.append(
            {"kind": "loitering", "vessels": [offset + j], "start": l0[j], "end": min(l1[j], times[-1])}
        )
    parts_pos.append(p), parts_vel.append(v), kinds.append(np.full(n_fish, FISHING))
    if scenario.get("patrols") and traffic.get("patrol", 0):
        patrols = _Polylines(frame, [lane["points"] for lane in scenario["patrols"]])
        p, v = _lane_movers(rng, patrols, int(traffic["patrol"]), steps, dt, (12.0, 16.0), 300.0)
        parts_pos.append(p), parts_vel.append(v), kinds.append(np.full(p.shape[1], PATROL))
    for meet in scenario.get("rendezvous", []):
        first = sum(x.shape[1] for x in parts_pos)
        p, v, t0, t1 = _meeting(frame, rng, meet, times)
        parts_pos.append(p), parts_vel.append(v), kinds.append(np.full(2, MEETING))
        events.append(
            {"kind": "rendezvous", "vessels": [first, first + 1], "start": t0, "end": t1, "dark": [1]}
        )
        events.append({"kind": "dark_vessel", "vessels": [first + 1], "start": times[0], "end": times[-1]})

    pos, vel, kind = (
        np.concatenate(parts_pos, axis=1),
        np.concatenate(parts_vel, axis=1),
        np.concatenate(kinds),
    )
    n = len(kind)
    mmsi = rng.choice(MIDS, n) * 1_000_000 + rng.integers(100_000, 999_999, n)
    length = np.select(
        [kind == MERCHANT, kind == FISHING, kind == PATROL],
        [rng.uniform(80, 300, n), rng.uniform(15, 60, n), rng.uniform(60, 120, n)],
        rng.uniform(40, 120, n),
    )
    ais_on = np.ones((steps, n), dtype=bool)
    ais_offset = np.zeros((steps, n, 2))
    _misbehave(rng, traffic, kind, times, ais_on, ais_offset, events)
    return World(frame, times, pos, vel, kind, mmsi, length, ais_on, ais_offset, events)


def _misbehave(rng, traffic, kind, times, ais_on, ais_offset, events) -> None:
    """Pick the dark, gap and spoofing vessels among merchants and fishing vessels; rendezvous partner dark."""
    for event in events:
        for j in event.get("dark", []):
            ais_on[:, event["vessels"][j]] = False
    ordinary = rng.permutation(np.flatnonzero((kind == MERCHANT) | (kind == FISHING)))
    n_dark, n_gap, n_spoof = (int(traffic.get(k, 0)) for k in ("dark", "gaps", "spoofers"))
    dark, gaps, spoof = np.split(ordinary[: n_dark + n_gap + n_spoof], [n_dark, n_dark + n_gap])
    span = times[-1] - times[0]
    for v in dark:
        ais_on[:, v] = False
        events.append({"kind": "dark_vessel", "vessels": [v], "start": times[0], "end": times[-1]})
    for v in gaps:
        t0 = times[0] + rng.uniform(0.1, 0.3) * span
        t1 = t0 + rng.uniform(2.0, 3.5) * 3600
        ais_on[(times >= t0) & (times < t1), v] = False
        events.append({"kind": "ais_gap", "vessels": [v], "start": t0, "end": min(t1, times[-1])})
        events.append(
            {"kind": "dark_vessel", "vessels": [v], "start": t0, "end": min(t1, times[-1]), "optional": True}
        )
    for v in spoof:
        t0 = times[0] + rng.uniform(0.0, 0.4) * span
        bearing, dist = rng.uniform(0, 2 * np.pi), rng.uniform(6e3, 30e3)
        ais_offset[times >= t0, v] = (dist * np.cos(bearing), dist * np.sin(bearing))
        events.append({"kind": "spoofing", "vessels": [v], "start": t0, "end": times[-1]})
        events.append(
            {"kind": "dark_vessel", "vessels": [v], "start": t0, "end": times[-1], "optional": True}
        )


# --- observation ----------------------------------------------------------------------------------


@dataclass
class Observed:
    deliveries: list[Delivery]
    nmea: list[str]
    seen: np.ndarray  # (steps, vessels) count of sensor detections (AIS not counted)


def observe(world: World, scenario: dict, rng: np.random.Generator, nmea: bool = False) -> Observed:
    out: list[Delivery] = []
    seen = np.zeros(world.ais_on.shape, dtype=np.int32)
    lines = _observe_ais(world, scenario, rng, out, seen, nmea)
    for sensor in scenario["sensors"]:
        _observe_sensor(world, sensor, rng, out, seen)
    out.sort(key=lambda d: d.arrival)
    return Observed(out, lines, seen)


def _observe_ais(world, scenario, rng, out, seen, nmea: bool) -> list[str]:
    traffic, ais = scenario["traffic"], scenario.get("ais", {})
    steps, n = world.ais_on.shape
    dt = world.times[1] - world.times[0]
    period = np.maximum(1, np.round(rng.uniform(*traffic.get("ais_period_s", (60, 180)), n) / dt)).astype(int)
    phase = rng.integers(0, 1 << 30, n) % period
    k = np.arange(steps)[:, None]
    sends = (
        ((k - phase) % period == 0)
        & world.ais_on
        & (rng.uniform(0, 1, (steps, n)) >= traffic.get("ais_loss", 0))
    )
    step_idx, vessel = np.nonzero(sends)
    xy = (
        world.pos[step_idx, vessel]
        + world.ais_offset[step_idx, vessel]
        + rng.normal(0, 10.0, (len(vessel), 2))
    )
    lat, lon = world.frame.to_latlon(xy[:, 0], xy[:, 1])
    v = world.vel[step_idx, vessel]
    sog = np.round(np.hypot(v[:, 0], v[:, 1]) * 3600 / 1852, 1)
    cog = np.round(np.degrees(np.arctan2(v[:, 0], v[:, 1])) % 360.0, 1)
    t = world.times[step_idx]
    split = ais.get("partner_by_lon", 128.8)
    label_west, label_east = (_label(p, ais) for p in ("KOR", "JPN"))
    lines: list[str] = []
    statics_sent: set[int] = set()
    for i in range(len(vessel)):
        mmsi = int(world.mmsi[vessel[i]])
        label = label_west if lon[i] < split else label_east
        when = float(t[i])
        body = AisPosition(
            time=when, mmsi=mmsi, lat=float(lat[i]), lon=float(lon[i]), sog_knots=float(sog[i]),
            cog_deg=float(cog[i]), heading_deg=float(round(cog[i])), nav_status=7 if world.kind[vessel[i]] == FISHING else 0,
            msg_type=1, source=f"{label.originator}-AIS",
        )  # fmt: skip
        arrival = when + ais.get("latency_s", 2.0)
        out.append(Delivery(arrival, Report(f"{label.originator}-ais-{i}", label, arrival, body)))
        static = None
        if mmsi not in statics_sent:
            statics_sent.add(mmsi)
            static = AisStatic(
                time=when, mmsi=mmsi, name=f"{KIND_NAMES[world.kind[vessel[i]]].upper()} {vessel[i]}",
                ship_type=(70, 30, 55, 80)[world.kind[vessel[i]]], length_m=float(round(world.length[vessel[i]])),
                beam_m=float(round(world.length[vessel[i]] / 7)), source=f"{label.originator}-AIS",
            )  # fmt: skip
            out.append(
                Delivery(arrival, Report(f"{label.originator}-ais-static-{mmsi}", label, arrival, static))
            )
        if nmea:
            lines.extend(encode_nmea(body, static))
    return lines


def _label(partner: str, spec: dict) -> Label:
    return Label(
        partner, spec.get("classification", "UNCLASSIFIED"), tuple(spec.get("releasable_to", [partner]))
    )


def _scan_positions(sensor: dict, world: World) -> list[tuple[int, float, float, float, float, float]]:
    """(step, sensor x, y, range_m, or a box) for each look of a sensor at the sea."""
    times, frame = world.times, world.frame
    dt = times[1] - times[0]
    if sensor["kind"] == "satellite":
        looks = []
        for hour, lat0, lon0, lat1, lon1 in sensor["passes"]:
            k = int(round(hour * 3600 / dt))
            if 0 <= k < len(times):
                looks.append((k, lat0, lon0, lat1, lon1, -1.0))
        return looks
    every = max(1, int(round(sensor.get("scan_s", 300) / dt)))
    if sensor["kind"] == "coastal_radar":
        x, y = frame.to_xy(sensor["lat"], sensor["lon"])
        return [(k, float(x), float(y), 0, 0, sensor["range_km"] * 1e3) for k in range(0, len(times), every)]
    route = _Polylines(frame, [sensor["route"]])
    speed = knots_to_mps(sensor.get("speed_kn", 300))
    looks = []
    for k in range(0, len(times), every):
        elapsed = times[k] - times[0] - sensor.get("start_h", 0) * 3600
        if 0 <= elapsed <= (sensor.get("end_h", 99) - sensor.get("start_h", 0)) * 3600:
            s = np.array([(elapsed * speed) % route.length[0]])
            p, _ = route.at(np.zeros(1, dtype=int), s)
            looks.append((k, float(p[0, 0]), float(p[0, 1]), 0, 0, sensor["range_km"] * 1e3))
    return looks


def _observe_sensor(world: World, sensor: dict, rng, out: list[Delivery], seen: np.ndarray) -> None:
    label = _label(sensor["partner"], sensor)
    sigma, pd = float(sensor.get("sigma_m", 200)), float(sensor.get("pd", 0.9))
    count = 0
    for k, a, b, c, d, reach in _scan_positions(sensor, world):
        xy = world.pos[k]
        if reach < 0:  # satellite box in lat/lon
            lat, lon = world.frame.to_latlon(xy[:, 0], xy[:, 1])
            inside = (lat >= a) & (lat <= c) & (lon >= b) & (lon <= d)
        else:
            inside = np.hypot(xy[:, 0] - a, xy[:, 1] - b) <= reach
        p_detect = np.where(world.length < 25, pd * 0.7, pd)
        hit = inside & (rng.uniform(0, 1, len(xy)) < p_detect)
        seen[k] += hit
        rows = np.flatnonzero(hit)
        meas = xy[rows] + rng.normal(0, sigma, (len(rows), 2))
        length = world.length[rows] * (1 + rng.normal(0, 0.2, len(rows)))
        if reach > 0:
            n_false = rng.poisson(sensor.get("clutter_per_scan", 0.0))
            r, ang = reach * np.sqrt(rng.uniform(0, 1, n_false)), rng.uniform(0, 2 * np.pi, n_false)
            meas = np.vstack([meas, np.column_stack([a + r * np.cos(ang), b + r * np.sin(ang)])])
            length = np.concatenate([length, rng.uniform(10, 40, n_false)])
        lat, lon = world.frame.to_latlon(meas[:, 0], meas[:, 1])
        when = float(world.times[k])
        arrival = when + sensor.get("latency_s", 5.0)
        for i in range(len(meas)):
            body = SurfaceDetection(
                when,
                sensor["name"],
                sensor["kind"],
                float(lat[i]),
                float(lon[i]),
                sigma,
                float(round(max(length[i], 5.0))),
            )
            out.append(Delivery(arrival, Report(f"{sensor['name']}-{count}", label, arrival, body)))
            count += 1


def encode_nmea(position: AisPosition, static: AisStatic | None = None) -> list[str]:
    """Real NMEA sentences (with a tag block carrying the time) for one simulated AIS report."""
    from pyais import encode_dict

    def tag(sentence: str) -> str:
        body = f"c:{int(position.time)},s:{position.source}"
        check = 0
        for ch in body.encode():
            check ^= ch
        return f"\\{body}*{check:02X}\\{sentence}"

    data = {
        "msg_type": 1, "mmsi": position.mmsi, "lat": position.lat, "lon": position.lon,
        "speed": position.sog_knots or 0.0, "course": position.cog_deg or 0.0,
        "heading": int(position.heading_deg or 0) % 360, "status": position.nav_status or 0,
    }  # fmt: skip
    lines = [tag(s) for s in encode_dict(data, talker_id="AIVDM")]
    if static is not None:
        voyage = {
            "msg_type": 5, "mmsi": static.mmsi, "shipname": static.name, "ship_type": static.ship_type,
            "to_bow": int(static.length_m // 2), "to_stern": int(static.length_m - static.length_m // 2),
            "to_port": int(static.beam_m // 2), "to_starboard": int(static.beam_m - static.beam_m // 2),
        }  # fmt: skip
        lines.extend(tag(s) for s in encode_dict(voyage, talker_id="AIVDM"))
    return lines


# --- truth ----------------------------------------------------------------------------------------


def _zone_events(world: World, scenario: dict) -> list[dict]:
    """Entries of true positions into each zone, debounced: outside for 30 min before counts as entry."""
    from shapely import contains_xy
    from shapely.geometry import Polygon

    events = []
    lat, lon = world.frame.to_latlon(world.pos[..., 0], world.pos[..., 1])
    for zone in scenario.get("zones", []):
        poly = Polygon([(p[1], p[0]) for p in zone["polygon"]])
        inside = contains_xy(poly, lon, lat)
        for step, vessel in zip(*np.nonzero(entries(inside, world.times, 1800.0)), strict=True):
            events.append(
                {"kind": "zone_entry", "vessels": [vessel], "start": world.times[step], "end": world.times[step],
                 "zone": zone["name"]}
            )  # fmt: skip
    return events


def entries(inside: np.ndarray, times: np.ndarray, quiet_s: float) -> np.ndarray:
    """(steps, n) -> bool where a column goes inside after being outside for quiet_s (NaN-free input)."""
    steps = inside.shape[0]
    entered = np.zeros_like(inside)
    last_inside = np.full(inside.shape[1], -np.inf)
    for k in range(1, steps):
        new = inside[k] & ~inside[k - 1] & (times[k] - last_inside > quiet_s)
        entered[k] = new
        last_inside = np.where(inside[k - 1], times[k - 1], last_inside)
    return entered


def truth_of(world: World, scenario: dict, observed: Observed) -> MaritimeTruth:
    vessels = [
        TruthVessel(f"v{j}", KIND_NAMES[world.kind[j]], int(world.mmsi[j]) if world.ais_on[:, j].any() else 0,
                    float(world.length[j]))
        for j in range(len(world.kind))
    ]  # fmt: skip
    events = []
    for event in world.events + _zone_events(world, scenario):
        steps = np.flatnonzero((world.times >= event["start"] - 1) & (world.times <= event["end"] + 1))
        if len(steps) == 0:
            continue
        sample_steps = steps[:: max(1, int(300 / (world.times[1] - world.times[0])))]
        samples = []
        for v in event["vessels"]:
            lat, lon = world.frame.to_latlon(world.pos[sample_steps, v, 0], world.pos[sample_steps, v, 1])
            samples += [
                (float(t), float(a), float(o))
                for t, a, o in zip(world.times[sample_steps], lat, lon, strict=True)
            ]
        window = np.flatnonzero((world.times >= event["start"] - 900) & (world.times <= event["end"] + 900))
        seen = min(int(observed.seen[window, v].sum()) for v in event["vessels"])
        events.append(
            TruthEvent(
                kind=event["kind"], start=float(event["start"]), end=float(event["end"]),
                vessels=tuple(f"v{v}" for v in event["vessels"]),
                mmsi=tuple(vessels[v].mmsi for v in event["vessels"]), samples=samples, observations=seen,
                zone=event.get("zone", ""), optional=event.get("optional", False),
            )
        )  # fmt: skip
    return MaritimeTruth(scenario["name"], float(world.times[0]), float(world.times[-1]), vessels, events)


# --- the whole step -------------------------------------------------------------------------------


def simulate(scenario: dict, nmea: bool = False) -> tuple[Observed, MaritimeTruth]:
    rng = np.random.default_rng(scenario.get("seed", 0))
    world = build_world(scenario, rng)
    observed = observe(world, scenario, rng, nmea)
    return observed, truth_of(world, scenario, observed)
