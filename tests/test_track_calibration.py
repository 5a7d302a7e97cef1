"""Calibration: the 95% impact ellipse must hold the true impact point in about 95% of Monte Carlo
trials. 300 trials give a binomial sigma of 1.3%: 95% and 80% are 11 sigma apart."""

from __future__ import annotations

import numpy as np

from meshwarn.geo.earth import ecef_to_aer
from meshwarn.score import inside_ellipse
from meshwarn.track.filters import EKF, IMM, Mode
from meshwarn.track.impact import predict_impact
from meshwarn.track.measurements import from_report
from tests.test_track_synth import KOR, plot, trajectory

TRIALS = 300


def test_impact_ellipse_holds_the_truth_95_percent_of_the_time() -> None:
    tr = trajectory()
    imm = IMM(EKF(), Mode("boost", 1.0, 20.0), Mode("ballistic", 1e-4, 0.0))
    rng = np.random.default_rng(11)
    times = tr.launch_time + np.arange(150.0, 250.0, 2.0)
    pos, _ = tr.state_at(times)
    clean = ecef_to_aer(pos, KOR.lat, KOR.lon, KOR.h)
    # All trials' measurement noise and initial errors drawn at once.
    noise = rng.normal(size=(TRIALS, len(times), 3)) * [KOR.sigma_deg, KOR.sigma_deg, KOR.sigma_range_m]
    P0 = np.diag([1000.0**2] * 3 + [50.0**2] * 3 + [1e-8] * 3)
    r0, v0 = tr.state_at(times[0] - 10.0)
    x0s = np.concatenate([r0, v0, np.zeros(3)]) + rng.multivariate_normal(np.zeros(9), P0, TRIALS)
    inside = []
    semi_major = []
    for k in range(TRIALS):
        s = imm.start(times[0] - 10.0, x0s[k], P0, 0.0)
        for i, t in enumerate(times):
            m = from_report(plot(KOR, float(t), clean[i] + noise[k, i], i))
            s, _ = imm.update(s, m)  # type: ignore[arg-type]
        x, P = s.estimate()
        ip = predict_impact(x, P, s.time)
        assert ip is not None
        inside.append(inside_ellipse(ip.ellipse, tr.impact_lat, tr.impact_lon))
        semi_major.append(ip.ellipse.semi_major_km)
    coverage = float(np.mean(inside))
    assert 0.90 <= coverage <= 0.99, coverage
    assert np.median(semi_major) < 5.0  # calibrated, and not by being huge
