"""meshwarn's tracker against Stone Soup on the same radar plots of a ballistic salvo.

Scenario: a salvo of missiles flown by meshwarn.sim.flight, seen by two radars (a Korean and a
Japanese one, so tracks hand over between partners), with missed detections and Poisson clutter.
Both trackers get the same plots, scan by scan:

- meshwarn: its Tracker (boost/ballistic IMM-EKF in ECEF with J2 gravity, GNN, M-of-N).
- Stone Soup 1.9.1: constant-acceleration 3-D Cartesian motion in ECEF (its best fit to a
  ballistic arc: gravity is nearly a constant acceleration over a scan), extended Kalman filter,
  CartesianToElevationBearingRange measurements with each radar's own position and frame,
  Mahalanobis DistanceHypothesiser, GNNWith2DAssignment, MultiMeasurementInitiator, time deleter.

Both are scored by GOSPA (c = 10 km, p = 2) at every scan of the first radar against the truth;
time counts only the trackers, as CPU time of this process (time.process_time): on a machine
shared with other jobs, wall time measures the neighbours as much as the tracker. Then meshwarn's per-report latency at 1, 20 and 200
simultaneous targets. Writes benchmarks/results/vs_stonesoup.json.

    .venv/bin/python benchmarks/vs_stonesoup.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from meshwarn import model
from meshwarn.geo.earth import ecef_to_aer, enu_rotation, geodetic_to_ecef
from meshwarn.score import gospa, positions_at
from meshwarn.sim.flight import Trajectory, fly, solve_launch
from meshwarn.track.tracker import Tracker, TrackerConfig

T0 = 1_700_000_000.0
RESULTS = Path(__file__).parent / "results" / "vs_stonesoup.json"


@dataclass(frozen=True)
class Radar:
    name: str
    partner: str
    lat: float
    lon: float
    h: float
    sigma_range_m: float = 30.0
    sigma_deg: float = 0.05
    scan_s: float = 2.0
    offset_s: float = 0.0
    pd: float = 0.9
    max_range_m: float = 1.8e6
    clutter: float = 2.0  # mean false plots per scan


RADARS = (
    Radar("KOR-GP", "KOR", 36.0, 128.0, 50.0),
    Radar("JPN-FPS5", "JPN", 37.0, 137.0, 50.0, offset_s=1.0, max_range_m=1.2e6),
)
SALVO = (  # launch lat, lon, azimuth, apogee km, range km, delay s
    (39.00, 125.50, 95.0, 500.0, 1000.0, 0.0),
    (39.30, 125.20, 100.0, 450.0, 900.0, 20.0),
    (38.80, 125.80, 90.0, 550.0, 1100.0, 40.0),
    (39.60, 125.60, 85.0, 400.0, 800.0, 60.0),
)


def salvo() -> list[Trajectory]:
    return [
        solve_launch(lat, lon, az, apo, rng, launch_time=T0 + delay)
        for lat, lon, az, apo, rng, delay in SALVO
    ]


def scans(trajs: list[Trajectory], t1: float, rng: np.random.Generator) -> list[tuple[Radar, float, list]]:
    """Per scan: the radar, the time, and its plots as (az_deg, el_deg, range_m, is_target)."""
    out = []
    for k in range(int((t1 - T0) / min(r.scan_s for r in RADARS)) + 1):
        for radar in RADARS:
            t = T0 + radar.offset_s + k * radar.scan_s
            if t > t1:
                continue
            plots = []
            for tr in trajs:
                if not tr.in_flight(t):
                    continue
                aer = ecef_to_aer(tr.state_at(t)[0], radar.lat, radar.lon, radar.h)
                if aer[1] < 0.5 or aer[2] > radar.max_range_m or rng.random() > radar.pd:
                    continue
                noise = rng.normal(0.0, [radar.sigma_deg, radar.sigma_deg, radar.sigma_range_m])
                plots.append(
                    (float(aer[0] + noise[0]) % 360.0, float(aer[1] + noise[1]), float(aer[2] + noise[2]))
                )
            for _ in range(rng.poisson(radar.clutter)):
                plots.append((rng.uniform(200, 340), rng.uniform(1, 40), rng.uniform(2e5, radar.max_range_m)))
            out.append((radar, t, plots))
    out.sort(key=lambda s: s[1])
    return out


def reports_of(radar: Radar, t: float, plots: list, first: int) -> list[model.Report]:
    label = model.Label(radar.partner, "SECRET", ("KOR", "JPN", "USA"))  # type: ignore[arg-type]
    return [
        model.Report(
            f"{radar.name}-{first + i}",
            label,
            t,
            model.RadarPlot(
                time=t,
                sensor=radar.name,
                sensor_lat=radar.lat,
                sensor_lon=radar.lon,
                sensor_h=radar.h,
                range_m=rng_m,
                azimuth_deg=az,
                elevation_deg=el,
                sigma_range_m=radar.sigma_range_m,
                sigma_azimuth_deg=radar.sigma_deg,
                sigma_elevation_deg=radar.sigma_deg,
            ),  # fmt: skip
        )
        for i, (az, el, rng_m) in enumerate(plots)
    ]


def truth_at(trajs: list[Trajectory], t: float) -> np.ndarray:
    return np.array([tr.state_at(t)[0] for tr in trajs if tr.in_flight(t)]).reshape(-1, 3)


# --- meshwarn ---------------------------------------------------------------------------


def run_meshwarn(trajs: list[Trajectory], all_scans: list, products: bool) -> tuple[float, list[float], int]:
    tracker = Tracker(TrackerConfig(products=products))
    batches = []
    n = 0
    for radar, t, plots in all_scans:
        batches.append((radar, t, reports_of(radar, t, plots, n)))
        n += len(plots)
    scores = []
    wall = 0.0
    for radar, t, reports in batches:
        start = time.process_time()
        tracker.process_batch(reports, t)
        wall += time.process_time() - start
        if radar is RADARS[0]:
            live = [tr for tr in tracker.tracks(t) if tr.status != "tentative"]
            scores.append(gospa(truth_at(trajs, t), positions_at(live, t))[0])
    return wall, scores, len({tr.id for tr in tracker.live if tr.status != "tentative"})


# --- Stone Soup ---------------------------------------------------------------------------


def run_stonesoup(trajs: list[Trajectory], all_scans: list) -> tuple[float, list[float]]:
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.deleter.time import UpdateTimeDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.nonlinear import CartesianToElevationBearingRange
    from stonesoup.models.transition.linear import CombinedLinearGaussianTransitionModel, ConstantAcceleration
    from stonesoup.predictor.kalman import ExtendedKalmanPredictor
    from stonesoup.types.array import CovarianceMatrix, StateVector
    from stonesoup.types.detection import Detection
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import ExtendedKalmanUpdater

    class RadarModel(CartesianToElevationBearingRange):
        """Stone Soup's radar model with the site's east-north-up frame as its rotation."""

        @property
        def rotation_matrix(self) -> np.ndarray:
            return self._enu  # type: ignore[attr-defined, no-any-return]

    def radar_model(radar: Radar) -> RadarModel:
        s = math.radians(radar.sigma_deg)
        m = RadarModel(
            ndim_state=9,
            mapping=(0, 3, 6),
            noise_covar=CovarianceMatrix(np.diag([s * s, s * s, radar.sigma_range_m**2])),
            translation_offset=StateVector(geodetic_to_ecef(radar.lat, radar.lon, radar.h)),
        )
        object.__setattr__(m, "_enu", enu_rotation(radar.lat, radar.lon))
        return m

    models = {r.name: radar_model(r) for r in RADARS}
    transition = CombinedLinearGaussianTransitionModel([ConstantAcceleration(5.0)] * 3)
    predictor = ExtendedKalmanPredictor(transition)
    updater = ExtendedKalmanUpdater(measurement_model=None)
    hypothesiser = DistanceHypothesiser(predictor, updater, measure=Mahalanobis(), missed_distance=5.0)
    associator = GNNWith2DAssignment(hypothesiser)
    prior = GaussianState(StateVector(np.zeros(9)), CovarianceMatrix(np.diag([0.0, 1500.0**2, 40.0**2] * 3)))
    initiator = MultiMeasurementInitiator(
        prior_state=prior,
        deleter=UpdateTimeDeleter(timedelta(seconds=10)),
        data_associator=GNNWith2DAssignment(hypothesiser),
        updater=updater,
        min_points=3,
    )
    deleter = UpdateTimeDeleter(timedelta(seconds=30))
    epoch = datetime.fromtimestamp(T0, UTC)
    tracks: set = set()
    scores = []
    wall = 0.0
    for radar, t, plots in all_scans:
        stamp = epoch + timedelta(seconds=t - T0)
        mm = models[radar.name]
        # Stone Soup's bearing is counter-clockwise from east; ours clockwise from north.
        dets = {
            Detection(
                StateVector([math.radians(el), math.radians(90.0 - az), rng_m]),
                timestamp=stamp,
                measurement_model=mm,
            )
            for az, el, rng_m in plots
        }
        start = time.process_time()
        hyps = associator.associate(tracks, dets, stamp)
        used = set()
        for track, hyp in hyps.items():
            if hyp:
                track.append(updater.update(hyp))
                used.add(hyp.measurement)
            else:
                track.append(hyp.prediction)
        tracks -= deleter.delete_tracks(tracks)
        tracks |= initiator.initiate(dets - used, stamp)
        wall += time.process_time() - start
        if radar is RADARS[0]:
            est = np.array([np.asarray(tr.state_vector, dtype=float).ravel()[[0, 3, 6]] for tr in tracks])
            scores.append(gospa(truth_at(trajs, t), est.reshape(-1, 3))[0])
    return wall, scores


# --- latency ----------------------------------------------------------------------------


def latency(
    n_targets: int, rng: np.random.Generator, template: Trajectory, products: bool = True
) -> dict[str, object]:
    """Per-report latency (CPU time) of Tracker.process with n_targets missiles in flight at once."""
    radar = RADARS[0]
    trajs = []
    for _ in range(n_targets):
        dlat, dlon = rng.uniform(-1.5, 1.5), rng.uniform(-1.0, 1.0)
        trajs.append(
            fly(
                template.launch_lat + dlat,
                template.launch_lon + dlon,
                template.azimuth_deg + rng.uniform(-15, 15),
                template.booster,
                template.thrust_scale,
                template.kick_deg,
                launch_time=T0 + rng.uniform(0, 20),
            )  # fmt: skip
        )
    tracker = Tracker(TrackerConfig(products=products))
    times = []
    n = 0
    for k in range(40 if n_targets > 50 else 80):
        t = T0 + 100.0 + k * radar.scan_s
        plots = []
        for tr in trajs:
            if tr.in_flight(t):
                aer = ecef_to_aer(tr.state_at(t)[0], radar.lat, radar.lon, radar.h)
                noise = rng.normal(0.0, [radar.sigma_deg, radar.sigma_deg, radar.sigma_range_m])
                plots.append(
                    (float(aer[0] + noise[0]) % 360.0, float(aer[1] + noise[1]), float(aer[2] + noise[2]))
                )
        for report in reports_of(radar, t, plots, n):
            start = time.process_time()
            tracker.process(report, t + 0.5)
            if k >= 10:  # tracks established
                times.append(time.process_time() - start)
        n += len(plots)
    live = sum(1 for tr in tracker.live if tr.status != "tentative")
    ms = np.array(times) * 1000.0
    return {
        "targets": n_targets,
        "launch_and_impact_products": products,
        "confirmed_tracks": live,
        "reports": len(times),
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "mean_ms": round(float(ms.mean()), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a shorter run (no file written)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    trajs = salvo()
    end = T0 + (300.0 if args.quick else max(tr.flight_time_s + 60.0 for tr in trajs) + 5.0)
    all_scans = scans(trajs, end, rng)
    n_reports = sum(len(p) for _, _, p in all_scans)
    print(f"salvo of {len(trajs)}, {len(RADARS)} radars, {len(all_scans)} scans, {n_reports} plots")
    mw_wall, mw_scores, mw_tracks = run_meshwarn(trajs, all_scans, products=False)
    print(
        f"meshwarn (tracking):       {mw_wall:7.2f} s  mean GOSPA {np.mean(mw_scores):8.1f} m  tracks {mw_tracks}"
    )
    full_wall, full_scores, _ = run_meshwarn(trajs, all_scans, products=True)
    print(f"meshwarn (+launch/impact): {full_wall:7.2f} s  mean GOSPA {np.mean(full_scores):8.1f} m")
    ss_wall, ss_scores = run_stonesoup(trajs, all_scans)
    print(f"Stone Soup:                {ss_wall:7.2f} s  mean GOSPA {np.mean(ss_scores):8.1f} m")
    result: dict[str, object] = {
        "scenario": {
            "missiles": len(trajs),
            "radars": [r.name for r in RADARS],
            "scans": len(all_scans),
            "plots": n_reports,
            "clutter_per_scan": [r.clutter for r in RADARS],
            "gospa_cutoff_m": 10000.0,
            "seed": args.seed,
        },
        "timing": "CPU seconds of the tracker alone (time.process_time), same process, same plots",
        "meshwarn": {"cpu_s": round(mw_wall, 3), "gospa_mean_m": round(float(np.mean(mw_scores)), 1)},
        "meshwarn_with_products": {
            "cpu_s": round(full_wall, 3),
            "gospa_mean_m": round(float(np.mean(full_scores)), 1),
        },
        "stonesoup": {"cpu_s": round(ss_wall, 3), "gospa_mean_m": round(float(np.mean(ss_scores)), 1)},
        "speedup": round(ss_wall / mw_wall, 1),
        "speedup_with_products": round(ss_wall / full_wall, 1),
        "gospa_ratio": round(float(np.mean(mw_scores) / np.mean(ss_scores)), 3),
    }
    print(f"speedup {result['speedup']}x (with launch/impact products {result['speedup_with_products']}x), "
          f"GOSPA ratio {result['gospa_ratio']}")  # fmt: skip
    lat = [
        latency(n, rng, trajs[0], products)
        for products in (True, False)
        for n in ((1, 20) if args.quick else (1, 20, 200))
    ]
    for row in lat:
        what = "with products" if row["launch_and_impact_products"] else "tracking only"
        print(
            f"latency at {row['targets']:>3} targets ({what}): p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms"
        )
    result["latency"] = lat
    result["machine"] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
