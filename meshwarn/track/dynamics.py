"""Motion models in rotating ECEF: the simulator's Earth, seen by an observer that does not know the thrust.

State layout (9): position r (m), velocity v (m/s), thrust acceleration a (m/s^2), all ECEF.
The ballistic model holds a at zero; the boost model lets it wander as a random walk
(white jerk). Prediction integrates r' = v, v' = g_J2(r) + Coriolis + centrifugal + a, a' = 0
with RK4 substeps (the same equations as :func:`meshwarn.geo.earth.ballistic_accel`), and
carries the covariance with a state transition matrix from the Jacobian at each substep.
"""

from __future__ import annotations

import math

import numpy as np

from meshwarn.geo.earth import GM, J2, OMEGA, A, ballistic_accel_scalar

NX = 9
MAX_SUBSTEP_S = 5.0  # RK4 error at this step is millimetres on a ballistic arc

# Constant parts of the Jacobian: dr'/dv = I, dv'/da = I, Coriolis and centrifugal terms.
_A0 = np.zeros((NX, NX))
_A0[0:3, 3:6] = np.eye(3)
_A0[3:6, 6:9] = np.eye(3)
_A0[3, 4], _A0[4, 3] = 2.0 * OMEGA, -2.0 * OMEGA
_A0[3, 0] = _A0[4, 1] = OMEGA * OMEGA
_EYE = np.eye(NX)
_EYE3 = np.eye(3)
_J2A2 = 1.5 * J2 * A * A
_W2 = OMEGA * OMEGA
_2W = 2.0 * OMEGA


def _rk4_step(s: list[float], h: float) -> list[float]:
    """One RK4 step of the 9-state in plain floats (one state: faster than NumPy)."""
    x, y, z, vx, vy, vz, ax, ay, az = s

    def acc(x: float, y: float, z: float, vx: float, vy: float, vz: float) -> tuple[float, float, float]:
        gx, gy, gz = ballistic_accel_scalar(x, y, z, vx, vy, vz)
        return gx + ax, gy + ay, gz + az

    h2 = 0.5 * h
    a1 = acc(x, y, z, vx, vy, vz)
    x2, y2, z2 = x + h2 * vx, y + h2 * vy, z + h2 * vz
    u2, v2, w2 = vx + h2 * a1[0], vy + h2 * a1[1], vz + h2 * a1[2]
    a2 = acc(x2, y2, z2, u2, v2, w2)
    x3, y3, z3 = x + h2 * u2, y + h2 * v2, z + h2 * w2
    u3, v3, w3 = vx + h2 * a2[0], vy + h2 * a2[1], vz + h2 * a2[2]
    a3 = acc(x3, y3, z3, u3, v3, w3)
    x4, y4, z4 = x + h * u3, y + h * v3, z + h * w3
    u4, v4, w4 = vx + h * a3[0], vy + h * a3[1], vz + h * a3[2]
    a4 = acc(x4, y4, z4, u4, v4, w4)
    k = h / 6.0
    return [
        x + k * (vx + 2 * u2 + 2 * u3 + u4),
        y + k * (vy + 2 * v2 + 2 * v3 + v4),
        z + k * (vz + 2 * w2 + 2 * w3 + w4),
        vx + k * (a1[0] + 2 * a2[0] + 2 * a3[0] + a4[0]),
        vy + k * (a1[1] + 2 * a2[1] + 2 * a3[1] + a4[1]),
        vz + k * (a1[2] + 2 * a2[2] + 2 * a3[2] + a4[2]),
        ax,
        ay,
        az,
    ]


def jacobian(s: list[float]) -> np.ndarray:
    """d(state')/d(state) at s. The gravity gradient is the point-mass one: J2 changes it by 0.1%."""
    x, y, z = s[0], s[1], s[2]
    r2 = x * x + y * y + z * z
    r = math.sqrt(r2)
    k = GM / (r2 * r)
    pos = np.array((x, y, z))
    a = _A0.copy()
    a[3:6, 0:3] += k * (3.0 * np.outer(pos, pos) / r2 - np.eye(3))
    return a


def substeps(dt: float) -> tuple[int, float]:
    n = max(1, math.ceil(abs(dt) / MAX_SUBSTEP_S))
    return n, dt / n


def propagate(x: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """The state dt seconds later (dt may be negative) and the state transition matrix."""
    s = x.tolist()
    phi = _EYE
    n, h = substeps(dt)
    for _ in range(n):
        # Jacobian at the substep's midpoint; second-order series of exp(A h).
        mid = _rk4_step(s, 0.5 * h)
        ah = jacobian(mid) * h
        phi = (_EYE + ah + 0.5 * (ah @ ah)) @ phi
        s = _rk4_step(s, h)
    return np.array(s), phi


def _deriv_t(s: np.ndarray, thrust: np.ndarray | None) -> np.ndarray:
    """d/dt of states stored as columns (6, n): rows are contiguous, so each op is one ufunc."""
    x, y, z, vx, vy, vz = s
    rr2 = x * x + y * y + z * z
    k = -GM / (rr2 * np.sqrt(rr2))
    f = _J2A2 / rr2
    z2 = z * z / rr2
    common = k * (1.0 - f * (5.0 * z2 - 1.0)) + _W2
    out = np.empty_like(s)
    out[0:3] = s[3:6]
    out[3] = common * x + _2W * vy
    out[4] = common * y - _2W * vx
    out[5] = (k * (1.0 - f * (5.0 * z2 - 3.0))) * z
    if thrust is not None:
        out[3:6] += thrust
    return out


def propagate_many(x: np.ndarray, dt: float | np.ndarray, max_substep: float = MAX_SUBSTEP_S) -> np.ndarray:
    """RK4 of many states at once, shape (n, 6) or (n, 9): sigma points and samples.

    dt is one number, or one per state (shape (n, 1)) for a single step of each."""
    if np.ndim(dt) == 0:
        n = max(1, math.ceil(abs(float(dt)) / max_substep))
        h: float | np.ndarray = float(dt) / n
    else:
        n, h = 1, np.asarray(dt).reshape(-1)
    s = x[:, 0:6].T.copy()
    thrust = x[:, 6:9].T if x.shape[1] > 6 else None
    for _ in range(n):
        k1 = _deriv_t(s, thrust)
        k2 = _deriv_t(s + 0.5 * h * k1, thrust)
        k3 = _deriv_t(s + 0.5 * h * k2, thrust)
        k4 = _deriv_t(s + h * k3, thrust)
        s = s + (h / 6.0) * (k1 + 2.0 * (k2 + k3) + k4)
    out = x.copy()
    out[:, 0:6] = s.T
    return out


def process_noise(dt: float, q_accel: float, q_jerk: float) -> np.ndarray:
    """Q of white acceleration noise (PSD q_accel, on v) plus white jerk (PSD q_jerk, on a).

    The jerk term is the boost model's: thrust changes as a random walk. With q_jerk = 0
    it is the ballistic model's small allowance for what the gravity model leaves out.
    """
    t = abs(dt)
    t2, t3, t4, t5 = t * t, t**3, t**4, t**5
    blocks = q_accel * np.array([[t3 / 3, t2 / 2, 0.0], [t2 / 2, t, 0.0], [0.0, 0.0, 0.0]])
    blocks = blocks + q_jerk * np.array(
        [[t5 / 20, t4 / 8, t3 / 6], [t4 / 8, t3 / 3, t2 / 2], [t3 / 6, t2 / 2, t]]
    )
    # kron(blocks, I3) by broadcasting: the same 9x9, without np.kron's overhead.
    return (blocks[:, None, :, None] * _EYE3[None, :, None, :]).reshape(9, 9)
