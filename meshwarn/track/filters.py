"""Estimators: an extended and an unscented Kalman filter over the 9-state, and an interacting
multiple model (IMM) of boost and ballistic motion built on either.

Names follow FilterPy: x, P, Q, R, H, K, S, y. Functions are pure (return new arrays) so that
a track can keep snapshots of its past states for out-of-sequence reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from meshwarn.track.dynamics import NX, process_noise, propagate, propagate_many
from meshwarn.track.measurements import Measurement

_EYE = np.eye(NX)
LOG_2PI = math.log(2.0 * math.pi)
BALLISTIC_THRUST_VAR = 1e-8  # (m/s^2)^2: "no thrust", kept non-singular


@dataclass(frozen=True)
class Mode:
    name: str  # "boost" or "ballistic"
    q_accel: float  # PSD of white acceleration noise, m^2/s^3
    q_jerk: float  # PSD of white jerk (thrust random walk), m^2/s^5; 0 for ballistic


def _gaussian_loglik(y: np.ndarray, S: np.ndarray) -> tuple[float, float]:
    """(NIS, log-likelihood) of innovation y with covariance S."""
    Si = np.linalg.inv(S)
    nis = float(y @ Si @ y)
    sign, logdet = np.linalg.slogdet(S)
    return nis, -0.5 * (nis + logdet + len(y) * LOG_2PI)


class EKF:
    """Extended Kalman filter: RK4 for the mean, the Jacobian's transition matrix for P."""

    name = "ekf"

    def predict(self, x: np.ndarray, P: np.ndarray, dt: float, mode: Mode) -> tuple[np.ndarray, np.ndarray]:
        if dt == 0.0:
            return x, P
        x1, phi = propagate(x, dt)
        return x1, phi @ P @ phi.T + process_noise(dt, mode.q_accel, mode.q_jerk)

    def innovation(
        self, x: np.ndarray, P: np.ndarray, m: Measurement
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(y, S, PH^T) of measurement m against the prior (x, P)."""
        zhat, H = m.predict(x)
        PHt = P @ H.T
        return m.residual(m.z, zhat), H @ PHt + m.R, PHt

    def update(
        self, x: np.ndarray, P: np.ndarray, m: Measurement
    ) -> tuple[np.ndarray, np.ndarray, float, float]:
        y, S, PHt = self.innovation(x, P, m)
        K = PHt @ np.linalg.inv(S)
        P1 = P - K @ S @ K.T
        nis, loglik = _gaussian_loglik(y, S)
        return x + K @ y, 0.5 * (P1 + P1.T), nis, loglik


class UKF:
    """Unscented Kalman filter (van der Merwe's scaled sigma points), sigma points propagated
    through the ballistic dynamics together with NumPy."""

    name = "ukf"

    def __init__(self, alpha: float = 1.0, beta: float = 2.0, kappa: float = 0.0) -> None:
        n = NX
        lam = alpha * alpha * (n + kappa) - n
        self.c = n + lam
        self.wm = np.full(2 * n + 1, 0.5 / self.c)
        self.wc = self.wm.copy()
        self.wm[0] = lam / self.c
        self.wc[0] = lam / self.c + (1.0 - alpha * alpha + beta)

    def sigma_points(self, x: np.ndarray, P: np.ndarray) -> np.ndarray:
        L = _safe_cholesky(self.c * P)
        return np.vstack((x, x + L.T, x - L.T))

    def predict(self, x: np.ndarray, P: np.ndarray, dt: float, mode: Mode) -> tuple[np.ndarray, np.ndarray]:
        if dt == 0.0:
            return x, P
        pts = propagate_many(self.sigma_points(x, P), dt)
        x1 = self.wm @ pts
        d = pts - x1
        return x1, (d.T * self.wc) @ d + process_noise(dt, mode.q_accel, mode.q_jerk)

    def _transform(
        self, x: np.ndarray, P: np.ndarray, m: Measurement
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pts = self.sigma_points(x, P)
        zs = m.h_many(pts)
        # Angles: average residuals about the central point, so a wrap at +-pi cannot bite.
        dz = np.array([m.residual(z, zs[0]) for z in zs])
        zhat = zs[0] + self.wm @ dz
        dz = dz - self.wm @ dz
        S = (dz.T * self.wc) @ dz + m.R
        Pxz = ((pts - x).T * self.wc) @ dz
        return m.residual(m.z, zhat), S, Pxz

    def innovation(
        self, x: np.ndarray, P: np.ndarray, m: Measurement
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._transform(x, P, m)

    def update(
        self, x: np.ndarray, P: np.ndarray, m: Measurement
    ) -> tuple[np.ndarray, np.ndarray, float, float]:
        y, S, Pxz = self._transform(x, P, m)
        K = Pxz @ np.linalg.inv(S)
        P1 = P - K @ S @ K.T
        nis, loglik = _gaussian_loglik(y, S)
        return x + K @ y, 0.5 * (P1 + P1.T), nis, loglik


def _safe_cholesky(A: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        w, V = np.linalg.eigh(0.5 * (A + A.T))
        return V * np.sqrt(np.clip(w, 1e-12, None))


def zero_thrust(x: np.ndarray, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ballistic model's view of a state: no thrust, known to be none."""
    x = x.copy()
    P = P.copy()
    x[6:9] = 0.0
    P[6:9, :] = 0.0
    P[:, 6:9] = 0.0
    P[6:9, 6:9] = np.eye(3) * BALLISTIC_THRUST_VAR
    return x, P


@dataclass
class IMMState:
    """Mode-conditioned estimates and mode probabilities at one time: a snapshot is a copy."""

    time: float
    xs: list[np.ndarray]
    Ps: list[np.ndarray]
    mu: np.ndarray
    collapsed: bool = False  # boost mode dropped for good (burnout seen)
    ballistic_run: int = 0  # consecutive updates with the ballistic mode dominant
    boost_time: float = -math.inf  # the last update that surely saw thrust (burnout came after)
    _estimate: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False, compare=False)

    def copy(self) -> IMMState:
        return IMMState(
            self.time, list(self.xs), list(self.Ps), self.mu.copy(), self.collapsed, self.ballistic_run,
            self.boost_time,
        )  # fmt: skip

    def estimate(self) -> tuple[np.ndarray, np.ndarray]:
        """Moment-matched combination of the modes (computed once: states are not mutated)."""
        if self.collapsed or len(self.xs) == 1:
            return self.xs[-1], self.Ps[-1]
        if self._estimate is None:
            x = self.mu[0] * self.xs[0] + self.mu[1] * self.xs[1]
            d0, d1 = self.xs[0] - x, self.xs[1] - x
            P = self.mu[0] * (self.Ps[0] + np.outer(d0, d0)) + self.mu[1] * (self.Ps[1] + np.outer(d1, d1))
            self._estimate = (x, P)
        return self._estimate


class IMM:
    """Boost (thrust as a random walk) and ballistic (no thrust) models, mixed each step.

    Boost ends and never restarts, so the chain is one-way in practice: the boost model hands
    over to the ballistic model with a mean dwell of tau_boost_s seconds. Once the ballistic
    model has dominated for collapse_after updates the boost model is dropped: cheaper, and a
    burnt-out missile does not re-ignite. For settle_s after the last update that surely saw thrust
    (ballistic probability below burning_prob) the dropped-to model predicts with the `settling`
    mode's noise, then with `settled`'s.
    """

    def __init__(
        self,
        kf: EKF | UKF,
        boost: Mode,
        ballistic: Mode,
        tau_boost_s: float = 40.0,
        tau_restart_s: float = 1e5,
        collapse_prob: float = 0.999,
        collapse_after: int = 5,
        cold_plume_likelihood: float = 0.02,
        settled: Mode | None = None,
        burning_prob: float = 0.01,
        settle_s: float = 0.0,
        settling: Mode | None = None,
    ) -> None:
        self.kf = kf
        self.modes = (boost, ballistic)
        self.tau_boost_s = tau_boost_s
        self.tau_restart_s = tau_restart_s
        self.collapse_prob = collapse_prob
        self.collapse_after = collapse_after
        self.cold_plume_likelihood = cold_plume_likelihood  # P(IR detection | no thrust), relative
        self.burning_prob = burning_prob
        self.settle_s = settle_s
        self.settling = settling or ballistic
        # After the boost model is dropped: the ballistic model with its own (smaller) noise. While
        # the two models still mix, the ballistic one needs more, to absorb the lag of the
        # thrust estimate at burnout.
        self.settled = settled or ballistic

    def start(self, time: float, x: np.ndarray, P: np.ndarray, p_boost: float) -> IMMState:
        xb, Pb = zero_thrust(x, P)
        return IMMState(time, [x.copy(), xb], [P.copy(), Pb], np.array((p_boost, 1.0 - p_boost)))

    def _transition(self, dt: float) -> np.ndarray:
        p_bo = 1.0 - math.exp(-abs(dt) / self.tau_boost_s)
        p_re = 1.0 - math.exp(-abs(dt) / self.tau_restart_s)
        return np.array(((1.0 - p_bo, p_bo), (p_re, 1.0 - p_re)))

    def predict(self, s: IMMState, time: float) -> IMMState:
        dt = time - s.time
        if s.collapsed:
            # Just after burnout the ballistic state still carries the lag of the boost model's
            # thrust estimate (its velocity was built on it): a short arc of coasting data does not
            # yet pin the velocity as well as the settled model's tiny noise would claim, so keep
            # a larger allowance for settle_s after the last update that surely saw thrust.
            settling = time - s.boost_time < self.settle_s
            x, P = self.kf.predict(s.xs[-1], s.Ps[-1], dt, self.settling if settling else self.settled)
            return IMMState(time, [x], [P], s.mu.copy(), True, s.ballistic_run, s.boost_time)
        T = self._transition(dt)
        c = s.mu @ T
        xs, Ps = [], []
        for j, mode in enumerate(self.modes):
            w = T[:, j] * s.mu / max(c[j], 1e-300)
            x0 = w[0] * s.xs[0] + w[1] * s.xs[1]
            P0 = np.zeros((NX, NX))
            for wi, xi, Pi in zip(w, s.xs, s.Ps, strict=True):
                d = xi - x0
                P0 += wi * (Pi + np.outer(d, d))
            if mode.name == "ballistic":
                # Thrust that stopped somewhere in the interval left a velocity change of up to
                # a dt: the share of this model that comes from boost carries that doubt.
                a = s.xs[0][6:9]
                P0[3:6, 3:6] += w[0] * np.outer(a, a) * (dt * dt / 3.0)
                x0, P0 = zero_thrust(x0, P0)
            x1, P1 = self.kf.predict(x0, P0, dt, mode)
            xs.append(x1)
            Ps.append(P1)
        return IMMState(time, xs, Ps, c, False, s.ballistic_run, s.boost_time)

    def update(self, s: IMMState, m: Measurement) -> tuple[IMMState, float]:
        """Predict to the measurement's time and update with it; returns the state and its NIS."""
        return self.correct(self.predict(s, m.time), m)

    def correct(self, p: IMMState, m: Measurement) -> tuple[IMMState, float]:
        """Update a state already predicted to the measurement's time."""
        if p.collapsed:
            x, P, nis, _ = self.kf.update(p.xs[-1], p.Ps[-1], m)
            return IMMState(m.time, [x], [P], p.mu, True, p.ballistic_run + 1, p.boost_time), nis
        xs, Ps, logl, nises = [], [], [], []
        for x, P in zip(p.xs, p.Ps, strict=True):
            x1, P1, nis, ll = self.kf.update(x, P, m)
            xs.append(x1)
            Ps.append(P1)
            logl.append(ll)
            nises.append(nis)
        if m.kind in ("ir", "point"):
            # An infrared sensor sees a plume: a line of sight is itself evidence of thrust.
            logl[1] += math.log(self.cold_plume_likelihood)
        logl_arr = np.array(logl)
        w = p.mu * np.exp(logl_arr - logl_arr.max())
        mu = w / w.sum()
        mu = np.clip(mu, 1e-9, 1.0)
        mu /= mu.sum()
        run = p.ballistic_run + 1 if mu[1] > self.collapse_prob else 0
        boost_time = m.time if mu[1] < self.burning_prob else p.boost_time
        out = IMMState(m.time, xs, Ps, mu, False, run, boost_time)
        nis = float(p.mu @ np.array(nises))
        if run >= self.collapse_after:
            out = IMMState(m.time, [xs[1]], [Ps[1]], np.array((0.0, 1.0)), True, run, boost_time)
        return out, nis

    def phase(self, s: IMMState) -> str:
        """Boost until the boost model is dropped for good (collapse_after updates of the ballistic
        model ahead): at staging the thrust falls several-fold and the ballistic model can lead for
        an update or two while the next stage still burns; announcing burnout then would fly the
        impact prediction from a thrusting state (thousands of km short)."""
        return "ballistic" if s.collapsed else "boost"
