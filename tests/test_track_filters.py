"""Estimators and models on known cases: the same Earth as the simulator, exact Jacobians,
convergence on a noiseless trajectory through burnout, triangulation, impact and launch."""

from __future__ import annotations

import numpy as np
import pytest

from meshwarn import model
from meshwarn.geo.earth import ecef_to_aer, surface_distance_km
from meshwarn.track.dynamics import propagate, propagate_many
from meshwarn.track.filters import EKF, IMM, UKF, Mode
from meshwarn.track.impact import launch_estimate, predict_impact
from meshwarn.track.measurements import from_report, triangulate
from tests.test_track_synth import KOR, ir_reports, plot, trajectory


def _imm(kf: EKF | UKF) -> IMM:
    return IMM(kf, Mode("boost", 1.0, 20.0), Mode("ballistic", 1e-4, 0.0))


def test_prediction_flies_the_simulators_arc() -> None:
    tr = trajectory()
    t0 = tr.burnout_time + 10.0
    r, v = tr.state_at(t0)
    x = np.concatenate([r, v, np.zeros(3)])
    x1, phi = propagate(x, 200.0)
    r1, v1 = tr.state_at(t0 + 200.0)
    assert np.linalg.norm(x1[0:3] - r1) < 2.0  # metres after 200 s: same gravity, same frame
    assert np.linalg.norm(x1[3:6] - v1) < 0.05
    # The transition matrix predicts how a small offset grows.
    dx = np.zeros(9)
    dx[3] = 1.0
    x2, _ = propagate(x + dx, 200.0)
    assert np.allclose(x2 - x1, phi @ dx, atol=0.05)
    # The vectorised integrator agrees with the scalar one.
    assert np.allclose(propagate_many(x[None, :], 200.0)[0], x1, atol=1e-6)


def test_radar_jacobian_matches_finite_differences() -> None:
    tr = trajectory()
    t = tr.launch_time + 200.0
    r, v = tr.state_at(t)
    aer = ecef_to_aer(r, KOR.lat, KOR.lon, KOR.h)
    body = plot(KOR, t, aer, 0).body
    assert isinstance(body, model.RadarPlot)
    report = model.Report("x", plot(KOR, t, aer, 0).label, t, model.RadarPlot(
        **{f: getattr(body, f) for f in body.__struct_fields__ if not f.startswith("range_rate")},
        range_rate_mps=0.0,
    ).__replace__(sigma_range_rate_mps=1.0))  # fmt: skip
    m = from_report(report)
    assert m is not None and len(m.z) == 4
    x = np.concatenate([r, v, np.zeros(3)])
    zhat, H = m.predict(x)
    assert zhat[0] == pytest.approx(aer[2], abs=1e-3)
    assert np.degrees(zhat[1]) % 360 == pytest.approx(aer[0], abs=1e-9)
    for i, step in enumerate([10.0, 10.0, 10.0, 0.1, 0.1, 0.1]):
        dx = np.zeros(9)
        dx[i] = step
        fd = (m.predict(x + dx)[0] - m.predict(x - dx)[0]) / (2 * step)
        assert np.allclose(H[:, i], fd, rtol=1e-4, atol=1e-10)


@pytest.mark.parametrize("kf", [EKF(), UKF()], ids=["ekf", "ukf"])
def test_filter_converges_on_a_noiseless_trajectory_through_burnout(kf: EKF | UKF) -> None:
    tr = trajectory()
    imm = _imm(kf)
    t_start = tr.launch_time + 40.0
    r, v = tr.state_at(t_start)
    P0 = np.diag([2000.0**2] * 3 + [300.0**2] * 3 + [40.0**2] * 3)
    x0 = np.concatenate([r + 1500.0, v - 200.0, np.zeros(3)])  # a poor start
    s = imm.start(t_start, x0, P0, 0.8)
    phases = {}
    for t in np.arange(t_start + 2.0, tr.launch_time + 400.0, 2.0):
        pos, _ = tr.state_at(t)
        m = from_report(plot(KOR, float(t), ecef_to_aer(pos, KOR.lat, KOR.lon, KOR.h), 0))
        assert m is not None
        s, _ = imm.update(s, m)
        phases[round(float(t - tr.launch_time))] = imm.phase(s)
    x, P = s.estimate()
    r, v = tr.state_at(s.time)
    assert np.linalg.norm(x[0:3] - r) < 15.0
    assert np.linalg.norm(x[3:6] - v) < 0.5
    assert phases[80] == "boost" and phases[398] == "ballistic"
    assert s.collapsed  # the boost model was dropped after burnout


def test_two_satellites_triangulate_a_plume() -> None:
    tr = trajectory()
    sats = [("GEO-A", "USA", 0.0, 120.0, 35_786_000.0), ("GEO-B", "JPN", 0.0, 150.0, 35_786_000.0)]
    rng = np.random.default_rng(0)
    t = tr.launch_time + 60.0
    a, b = (from_report(ir_reports(s, tr, t, t + 1, 1.0, 1e-9, rng)[0]) for s in sats)
    assert a is not None and b is not None
    point, cov, miss = triangulate(a, b)
    truth, _ = tr.state_at(t)
    assert np.linalg.norm(point - truth) < 1.0 and miss < 1.0
    # With real noise the stated covariance covers the error.
    errs = []
    for _ in range(200):
        a, b = (from_report(ir_reports(s, tr, t, t + 1, 1.0, 0.005, rng)[0]) for s in sats)
        point, cov, _ = triangulate(a, b)  # type: ignore[arg-type]
        e = point - truth
        errs.append(e @ np.linalg.solve(cov, e))
    assert 1.5 < np.mean(errs) < 4.5  # chi-square with 3 degrees of freedom: mean 3


def test_impact_and_launch_of_a_known_state() -> None:
    tr = trajectory()
    t = tr.launch_time + 200.0
    r, v = tr.state_at(t)
    x = np.concatenate([r, v, np.zeros(3)])
    P = np.diag([50.0**2] * 3 + [1.0**2] * 3 + [1e-8] * 3)
    ip = predict_impact(x, P, t)
    assert ip is not None
    assert ip.time == pytest.approx(tr.impact_time, abs=0.5)
    assert surface_distance_km(ip.ellipse.lat, ip.ellipse.lon, tr.impact_lat, tr.impact_lon) < 0.05
    assert 0.2 < ip.ellipse.semi_major_km < 10.0
    assert ip.ground_track[0][0] == t and ip.ground_track[-1][0] == pytest.approx(ip.time)
    assert len(ip.track_sigma_km) == len(ip.ground_track)
    # Launch, back-propagated from boost: within its stated uncertainty of the truth.
    tb = tr.launch_time + 50.0
    r, v = tr.state_at(tb)
    le = launch_estimate(np.concatenate([r, v, np.zeros(3)]), P, tb, boosting=True)
    assert le is not None
    err = surface_distance_km(le.lat, le.lon, tr.launch_lat, tr.launch_lon)
    assert err < 3.0 * le.sigma_km and abs(le.time - tr.launch_time) < 15.0
