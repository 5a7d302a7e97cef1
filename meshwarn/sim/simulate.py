"""Run a scenario: fly its launches, let every sensor observe, send the reports over the links.

The result is what the hub would receive (deliveries in arrival order) and what
really happened (Truth). Report ids map to the object each report came from in
``report_truth`` (empty for false alarms and own-unit positions): a file for scoring,
never for the tracker.
"""

from __future__ import annotations

import shutil
import time as clock
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import numpy as np

from meshwarn import exercise
from meshwarn.errors import InputError
from meshwarn.geo.earth import ecef_to_geodetic
from meshwarn.model import Delivery, Report, Truth, TruthObject
from meshwarn.sim.flight import Trajectory, solve_burnout, solve_launch
from meshwarn.sim.links import deliver
from meshwarn.sim.scenario import LaunchSpec, Scenario
from meshwarn.sim.sensors import Target, observe, sensor_info

REPORT_TRUTH = "report_truth.json"
TRUTH_STEP_S = 1.0
END_MARGIN_S = 60.0  # keep observing this long after the last impact

Step = Callable[[str], None]


@dataclass
class SensorStats:
    partner: str
    kind: str
    reports: int = 0
    detections: int = 0
    false_alarms: int = 0
    unit_positions: int = 0


@dataclass
class Simulation:
    scenario: Scenario
    seed: int
    targets: list[Target]
    deliveries: list[Delivery]
    truth: Truth
    report_truth: dict[str, str]
    sensors: dict[str, SensorStats]
    outages: dict[str, list[tuple[float, float]]]
    timings: dict[str, float] = field(default_factory=dict)


def solve(spec: LaunchSpec, scenario: Scenario) -> Trajectory:
    """Fly one launch of the scenario; a launch the physics refuses names its place in the file."""
    try:
        if spec.apogee_km is not None and spec.range_km is not None:
            return solve_launch(
                spec.lat,
                spec.lon,
                spec.azimuth_deg,
                spec.apogee_km,
                spec.range_km,
                launch_time=spec.time,
                booster=spec.booster,
            )
        assert spec.burnout_speed_mps is not None and spec.flight_path_deg is not None
        return solve_burnout(
            spec.lat,
            spec.lon,
            spec.azimuth_deg,
            spec.burnout_speed_mps,
            spec.flight_path_deg,
            launch_time=spec.time,
            booster=spec.booster,
        )
    except InputError as exc:
        raise InputError(f"{scenario.where(spec)}: launch {spec.id}: {exc}") from None


def solve_all(scenario: Scenario, step: Step | None = None) -> list[Target]:
    targets = []
    for spec in scenario.launches:
        if step:
            step(f"flying {spec.id} from {spec.site}")
        targets.append(Target(spec.id, solve(spec, scenario)))
    return targets


def truth_object(target: Target, spec: LaunchSpec) -> TruthObject:
    traj = target.trajectory
    times = np.append(np.arange(traj.launch_time, traj.impact_time, TRUTH_STEP_S), traj.impact_time)
    pos, vel = traj.state_at(times)
    lat, lon, h = ecef_to_geodetic(pos)
    samples = np.column_stack([times, lat, lon, np.maximum(h, 0.0), pos, vel]).tolist()
    return TruthObject(
        id=target.id,
        kind="missile",
        launch_time=traj.launch_time,
        launch_lat=spec.lat,
        launch_lon=spec.lon,
        impact_time=traj.impact_time,
        impact_lat=traj.impact_lat,
        impact_lon=traj.impact_lon,
        apogee_km=traj.apogee_km,
        range_km=traj.range_km,
        burnout_time=traj.burnout_time,
        samples=[tuple(s) for s in samples],  # type: ignore[misc]
    )


def end_time(scenario: Scenario, targets: list[Target]) -> float:
    if scenario.duration_s is not None:
        return scenario.start + scenario.duration_s
    return max(t.trajectory.impact_time for t in targets) + END_MARGIN_S


def simulate(
    scenario: Scenario, seed: int | None = None, step: Step | None = None, targets: list[Target] | None = None
) -> Simulation:
    """Simulate the scenario (targets: already-solved launches, to skip the solving)."""
    seed = scenario.seed if seed is None else seed
    t0 = clock.perf_counter()
    targets = targets if targets is not None else solve_all(scenario, step)
    t1 = clock.perf_counter()
    start, end = scenario.start, end_time(scenario, targets)
    reports: list[Report] = []
    report_truth: dict[str, str] = {}
    stats: dict[str, SensorStats] = {}
    for i, sensor in enumerate(scenario.sensors):
        if step:
            step(f"observing with {sensor.name}")
        result = observe(sensor, targets, start, end, np.random.default_rng([seed, 1, i]))
        reports.extend(result.reports)
        report_truth.update((r.id, t) for r, t in zip(result.reports, result.truth, strict=True) if t)
        stats[sensor.name] = SensorStats(
            sensor.label.originator,
            sensor.kind,
            len(result.reports),
            result.detections,
            result.false_alarms,
            result.unit_positions,
        )
    if step:
        step("sending over the links")
    deliveries, outages = deliver(reports, scenario.links, start, end, np.random.default_rng([seed, 2]))
    t2 = clock.perf_counter()
    truth = Truth(
        scenario=scenario.name,
        start_time=start,
        end_time=end,
        objects=[truth_object(t, s) for t, s in zip(targets, scenario.launches, strict=True)],
        sensors=[sensor_info(s) for s in scenario.sensors],
    )
    timings = {"solve_s": t1 - t0, "observe_and_deliver_s": t2 - t1, "truth_s": clock.perf_counter() - t2}
    return Simulation(scenario, seed, targets, deliveries, truth, report_truth, stats, outages, timings)


def write(sim: Simulation, directory: Path) -> None:
    """The exercise directory: reports.jsonl, truth.json, scenario.toml and report_truth.json."""
    directory.mkdir(parents=True, exist_ok=True)
    exercise.write_jsonl(directory / exercise.REPORTS, sim.deliveries)
    exercise.write_truth(directory, sim.truth)
    shutil.copyfile(sim.scenario.path, directory / exercise.SCENARIO)
    (directory / REPORT_TRUTH).write_bytes(msgspec.json.encode(sim.report_truth))


def out_of_order(deliveries: list[Delivery]) -> int:
    """How many deliveries arrive after one that was sent later (overtaken reports)."""
    sent = np.array([d.report.sent for d in deliveries])
    if len(sent) == 0:
        return 0
    later_max = np.maximum.accumulate(sent)
    return int(np.count_nonzero(sent < later_max))


def summary(sim: Simulation) -> list[str]:
    """A few lines saying what was simulated."""
    lines = [f"scenario {sim.scenario.name} (seed {sim.seed}): {len(sim.targets)} missile(s)"]
    for target in sim.targets:
        tr = target.trajectory
        lines.append(
            f"  {target.id}: apogee {tr.apogee_km:.0f} km, range {tr.range_km:.0f} km, "
            f"flight {tr.flight_time_s / 60:.1f} min, impact {tr.impact_lat:.2f}N {tr.impact_lon:.2f}E"
        )
    lines.append("sensor                     partner kind          reports detections false unit")
    for name, s in sim.sensors.items():
        lines.append(
            f"  {name:<25}{s.partner:<8}{s.kind:<14}{s.reports:>8}{s.detections:>11}{s.false_alarms:>6}"
            f"{s.unit_positions:>5}"
        )
    per_partner = Counter(d.report.label.originator for d in sim.deliveries)
    delays = np.array([d.arrival - d.report.sent for d in sim.deliveries]) if sim.deliveries else np.zeros(1)
    lines.append("reports per partner: " + ", ".join(f"{p} {n}" for p, n in sorted(per_partner.items())))
    n_out = sum(len(w) for w in sim.outages.values())
    lines.append(
        f"{len(sim.deliveries)} deliveries: delay median {np.median(delays):.2f} s, max {delays.max():.1f} s; "
        f"{out_of_order(sim.deliveries)} overtaken; {n_out} link outage(s)"
    )
    return lines
