"""The boost-phase overflight corridor: the path to the instantaneous impact point assumes thrust
cut now, so it is re-centred and widened for the burn that may remain (impact.boost_corridor)."""

from __future__ import annotations

from functools import cache

import numpy as np

from meshwarn.geo.earth import ballistic_accel, ecef_to_geodetic, geodetic_to_ecef
from meshwarn.model import ImpactPrediction
from meshwarn.sim.flight import Trajectory, solve_launch
from meshwarn.track.impact import boost_corridor, predict_impact

LAUNCH = 1664835720.0


@cache
def irbm() -> Trajectory:
    """A Hwasong-12-like IRBM from Sunan over northern Japan (as tests/test_warn_fixtures.irbm)."""
    return solve_launch(39.224, 125.670, 75.0, 550.0, 2700.0, launch_time=LAUNCH)


def _boosting_state(tr: Trajectory, t: float) -> tuple[np.ndarray, float]:
    """The true 9-state at t (thrust = acceleration less gravity) and the thrust's magnitude."""
    pos, vel = tr.state_at(np.array([t - 0.5, t, t + 0.5]))
    thrust = (vel[2] - vel[0]) - ballistic_accel(pos[1], vel[1])
    return np.concatenate([pos[1], vel[1], thrust]), float(np.linalg.norm(thrust))


def _distance_km(track: list[tuple[float, float, float, float]], truth: np.ndarray) -> np.ndarray:
    """Each ground-track sample's distance from the true ground track (dense ground points)."""
    pts = np.array([geodetic_to_ecef(lat, lon, 0.0) for _, lat, lon, _ in track])
    return np.min(np.linalg.norm(pts[:, None, :] - truth[None, :, :], axis=2), axis=1) / 1000.0


def _prediction(tr: Trajectory, t: float) -> tuple[ImpactPrediction, ImpactPrediction, np.ndarray, float]:
    x, thrust = _boosting_state(tr, t)
    P = np.diag([1.0] * 3 + [1e-2] * 3 + [1e-8] * 3)  # near-perfect state: only the model is in doubt
    cut_now = predict_impact(x, P, t)
    assert cut_now is not None
    remaining = tr.burnout_time - t
    corridor = boost_corridor(cut_now, x, thrust, 1.5 * remaining)
    times = np.arange(t, tr.impact_time, 0.05)  # ground points 0.2 km apart at most
    lat, lon, _ = ecef_to_geodetic(tr.state_at(times)[0])
    truth = np.array([geodetic_to_ecef(a, o, 0.0) for a, o in zip(lat, lon, strict=True)])
    return cut_now, corridor, truth, thrust


def test_the_corridor_while_thrusting_is_centred_nearer_the_true_path_and_holds_it() -> None:
    tr = irbm()
    t = tr.launch_time + 0.6 * tr.burnout_s
    cut_now, corridor, truth, _ = _prediction(tr, t)
    assert len(corridor.ground_track) == len(cut_now.ground_track)
    before = _distance_km(cut_now.ground_track, truth)[1:]
    after = _distance_km(corridor.ground_track, truth)[1:]
    # The cut-now path drifts off the true one (a slower flight is bent more by the Earth's
    # rotation); the family of later cut-offs brings the centre back towards it.
    assert before.max() > 1.0
    assert after.mean() < 0.6 * before.mean()
    widths = np.asarray(corridor.track_sigma_km)[1:]
    assert np.all(widths >= np.asarray(cut_now.track_sigma_km)[1:] - 1e-9)  # never narrower
    assert np.all(after <= widths + 0.5)  # the true path lies within the widened corridor
    # The impact point, its time and ellipse are the instantaneous ones, untouched.
    assert corridor.ellipse == cut_now.ellipse and corridor.time == cut_now.time


def test_no_thrust_or_no_burn_left_leaves_the_prediction_as_it_is() -> None:
    tr = irbm()
    x, _ = _boosting_state(tr, tr.launch_time + 0.6 * tr.burnout_s)
    P = np.diag([1.0] * 3 + [1e-2] * 3 + [1e-8] * 3)
    cut_now = predict_impact(x, P, tr.launch_time)
    assert cut_now is not None
    assert boost_corridor(cut_now, x, 0.0, 100.0) is cut_now
    assert boost_corridor(cut_now, x, 20.0, 0.0) is cut_now
