"""Where a track comes down and where it came from.

Impact: the unscented transform of the position-velocity covariance, every sigma point flown
to the ground together (one NumPy array, RK4), each one's ground crossing refined by Newton
steps on its height. Their spread gives the 95% ellipse, the impact time's sigma and the
cross-track width of the predicted ground track. During boost this is the instantaneous impact
point (thrust cut now), the figure a warning system acts on.

Launch: in boost, a constant-acceleration-from-rest model (h = a t^2 / 2, so t = 2 h / v_up and
the launch lies v t / 2 behind); after burnout, the ballistic arc flown backwards to the ground.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from meshwarn import model
from meshwarn.geo.earth import E2, A, ecef_to_geodetic, enu_rotation
from meshwarn.track.dynamics import propagate_many

CHI2_2D_95 = 5.991464547107979  # 95% of a 2-D Gaussian lies within this squared Mahalanobis radius
Z_95 = 1.959963984540054
STEP_S = 60.0  # RK4 step flying sigma points to the ground: decimetres of error at this step
MAX_FLIGHT_S = 3 * 3600.0


@dataclass(frozen=True)
class UnscentedWeights:
    points: np.ndarray  # unit sigma directions scale, (2n+1,)
    wm: np.ndarray
    wc: np.ndarray
    c: float


def _weights(n: int, alpha: float = 1.0, beta: float = 2.0, kappa: float = 0.0) -> UnscentedWeights:
    lam = alpha * alpha * (n + kappa) - n
    c = n + lam
    wm = np.full(2 * n + 1, 0.5 / c)
    wc = wm.copy()
    wm[0] = lam / c
    wc[0] = lam / c + (1.0 - alpha * alpha + beta)
    return UnscentedWeights(np.arange(2 * n + 1), wm, wc, c)


_W6 = _weights(6)


def sigma_points(x: np.ndarray, P: np.ndarray) -> np.ndarray:
    try:
        L = np.linalg.cholesky(_W6.c * P)
    except np.linalg.LinAlgError:
        w, V = np.linalg.eigh(0.5 * (P + P.T))
        L = V * np.sqrt(np.clip(w, 0.0, None) * _W6.c)
    return np.vstack((x, x + L.T, x - L.T))


def height(r: np.ndarray) -> np.ndarray:
    """Height above the ellipsoid along the geocentric radius (exact at zero), rows of ECEF."""
    rr = np.sqrt(np.einsum("ij,ij->i", r, r))
    s2 = (r[:, 2] / rr) ** 2
    return rr - A * np.sqrt((1.0 - E2) / (1.0 - E2 * (1.0 - s2)))


@dataclass
class Flight:
    """Sigma points flown to the ground (or, backwards, to the launch)."""

    times: np.ndarray  # (k,) seconds from the start, mean path sample times
    mean_path: np.ndarray  # (k, 3) weighted mean position at each sample time
    mean_vel: np.ndarray  # (k, 3) and velocity
    cross_sigma: np.ndarray  # (k,) 1-sigma spread across the mean path, m
    ground: np.ndarray  # (2n+1, 3) each point's ground crossing
    ground_dt: np.ndarray  # (2n+1,) seconds to it


def fly_to_ground(pts: np.ndarray, wm: np.ndarray, wc: np.ndarray, direction: float = 1.0) -> Flight | None:
    """Fly every row of pts (n, 6) forwards (direction 1) or backwards (-1) to height zero."""
    n = len(pts)
    step = direction * STEP_S
    ground = np.zeros((n, 3))
    ground_dt = np.full(n, np.nan)
    down = np.zeros(n, dtype=bool)
    state = pts.copy()
    h_prev = height(state[:, 0:3])
    times, path, vel = [0.0], [wm @ state[:, 0:3]], [wm @ state[:, 3:6]]
    cross = [_cross_sigma(state, wm, wc)]
    t = 0.0
    while not down.all():
        if abs(t) > MAX_FLIGHT_S:
            return None
        new = propagate_many(state, step, max_substep=STEP_S)
        new[down] = state[down]  # those already down stay where they fell
        t += step
        h_new = height(new[:, 0:3])
        crossing = (~down) & (h_new <= 0.0)
        if crossing.any():
            idx = np.nonzero(crossing)[0]
            tau, final = _refine_crossing(state[idx], h_prev[idx], h_new[idx], step)
            ground[idx] = final[:, 0:3]
            ground_dt[idx] = t - step + tau
            down[idx] = True
            new[idx] = final  # frozen at the ground from now on
        state = new
        h_prev = h_new
        times.append(t)
        path.append(wm @ state[:, 0:3])
        vel.append(wm @ state[:, 3:6])
        cross.append(_cross_sigma(state, wm, wc))
    return Flight(np.array(times), np.array(path), np.array(vel), np.array(cross), ground, ground_dt)


def _refine_crossing(
    s0: np.ndarray, h0: np.ndarray, h1: np.ndarray, step: float
) -> tuple[np.ndarray, np.ndarray]:
    """Time into the step at which each state reaches height zero, and the state there: a secant
    start, two Newton steps on the flown height, and the last (sub-millisecond) one applied
    along the velocity instead of flying again."""
    tau = step * h0 / np.where(h0 - h1 == 0.0, 1.0, h0 - h1)
    for _ in range(2):
        s = propagate_many(s0, tau[:, None])
        r, v = s[:, 0:3], s[:, 3:6]
        up = r / np.linalg.norm(r, axis=1)[:, None]
        hdot = np.einsum("ij,ij->i", up, v)
        dtau = -height(r) / np.where(np.abs(hdot) < 1e-3, 1e-3, hdot)
        tau = np.clip(tau + dtau, min(0.0, step), max(0.0, step))
    s[:, 0:3] += v * dtau[:, None]
    return tau, s


def _hermite(f: Flight, times: np.ndarray) -> np.ndarray:
    """The mean path at the given times, by cubic Hermite between the RK4 samples."""
    i = np.clip(np.searchsorted(f.times, times, side="right") - 1, 0, len(f.times) - 2)
    h = (f.times[i + 1] - f.times[i])[:, None]
    s = (times[:, None] - f.times[i][:, None]) / h
    p0, p1, v0, v1 = f.mean_path[i], f.mean_path[i + 1], f.mean_vel[i], f.mean_vel[i + 1]
    return (
        (2 * s**3 - 3 * s**2 + 1) * p0
        + (s**3 - 2 * s**2 + s) * h * v0
        + (-2 * s**3 + 3 * s**2) * p1
        + (s**3 - s**2) * h * v1
    )


def _cross_sigma(state: np.ndarray, wm: np.ndarray, wc: np.ndarray) -> float:
    """1-sigma spread of the points across the mean path, horizontally."""
    r = state[:, 0:3]
    mean = wm @ r
    vel = wm @ state[:, 3:6]
    up = mean / np.linalg.norm(mean)
    across = np.array(
        (up[1] * vel[2] - up[2] * vel[1], up[2] * vel[0] - up[0] * vel[2], up[0] * vel[1] - up[1] * vel[0])
    )
    norm = np.linalg.norm(across)
    if norm < 1e-9:
        return 0.0
    d = (r - mean) @ (across / norm)
    return float(math.sqrt(max(float(wc @ (d * d)), 0.0)))


def ellipse(points: np.ndarray, wm: np.ndarray, wc: np.ndarray) -> tuple[model.Ellipse, np.ndarray]:
    """95% ellipse of weighted ground points (ECEF rows), and its 2x2 east-north covariance (m^2)."""
    centre = wm @ points
    lat, lon, _ = ecef_to_geodetic(centre)
    lat, lon = float(lat), float(lon)
    en = ((points - centre) @ enu_rotation(lat, lon).T)[:, 0:2]
    cov = (en.T * wc) @ en
    vals, vecs = np.linalg.eigh(cov)
    vals = np.clip(vals, 0.0, None)
    major = vecs[:, 1]
    bearing = math.degrees(math.atan2(major[0], major[1])) % 180.0
    return (
        model.Ellipse(
            lat=lat,
            lon=(lon + 540.0) % 360.0 - 180.0,
            semi_major_km=math.sqrt(CHI2_2D_95 * vals[1]) / 1000.0,
            semi_minor_km=math.sqrt(CHI2_2D_95 * vals[0]) / 1000.0,
            bearing_deg=bearing,
        ),
        cov,
    )


def predict_impact(
    x: np.ndarray, P: np.ndarray, now: float, track_step_s: float = 20.0
) -> model.ImpactPrediction | None:
    """Impact point, time, 95% ellipse and ground track of a state (x, P: 6-D ECEF r, v) at `now`."""
    pts = sigma_points(x[0:6], P[0:6, 0:6])
    if height(pts[:1, 0:3])[0] < -1000.0:
        return None
    flight = fly_to_ground(pts, _W6.wm, _W6.wc, 1.0)
    if flight is None:
        return None
    ell, _ = ellipse(flight.ground, _W6.wm, _W6.wc)
    t_mean = float(_W6.wm @ flight.ground_dt)
    t_sigma = math.sqrt(max(float(_W6.wc @ (flight.ground_dt - t_mean) ** 2), 0.0))
    times = np.append(np.arange(0.0, t_mean, track_step_s), t_mean)
    path = _hermite(flight, times)
    path[-1] = _W6.wm @ flight.ground
    cross = np.interp(times, flight.times, flight.cross_sigma)
    lat, lon, h = ecef_to_geodetic(path)
    ground_track = [
        (float(now + t), float(a), float((o + 540.0) % 360.0 - 180.0), float(max(z, 0.0)))
        for t, a, o, z in zip(times, lat, lon, h, strict=True)
    ]
    return model.ImpactPrediction(
        time=now + t_mean,
        sigma_time_s=t_sigma,
        ellipse=ell,
        ground_track=ground_track,
        track_sigma_km=[float(Z_95 * c / 1000.0) for c in cross],
    )


def launch_estimate(x: np.ndarray, P: np.ndarray, now: float, boosting: bool) -> model.LaunchEstimate | None:
    """Launch point and time, back-propagated from the state at `now`."""
    r, v = x[0:3], x[3:6]
    if boosting:
        up = r / np.linalg.norm(r)
        h = float(height(r[None, :])[0])
        v_up = float(v @ up)
        if v_up < 20.0 or h < 0.0:
            return None
        tau = 2.0 * h / v_up  # from rest under constant acceleration
        launch = r - 0.5 * tau * v
        launch = launch - float(height(launch[None, :])[0]) * up
        pos_var = float(np.trace(P[0:3, 0:3])) / 3.0
        vel_var = float(np.trace(P[3:6, 3:6])) / 3.0
        model_err = 0.15 * float(np.linalg.norm(0.5 * tau * (v - v_up * up)))  # thrust is not constant
        sigma = math.sqrt(pos_var + (0.5 * tau) ** 2 * vel_var + model_err**2 + 1000.0**2)
        lat, lon, _ = ecef_to_geodetic(launch)
        return model.LaunchEstimate(float(lat), _wrap(float(lon)), now - tau, sigma / 1000.0)
    pts = sigma_points(x[0:6], P[0:6, 0:6])
    flight = fly_to_ground(pts, _W6.wm, _W6.wc, -1.0)
    if flight is None:
        return None
    ell, cov = ellipse(flight.ground, _W6.wm, _W6.wc)
    # The ballistic arc flown back misses the boost: its curve puts the real launch some way
    # off, so the stated sigma includes a model term of a tenth of the distance flown back.
    back = float(np.linalg.norm(_W6.wm @ flight.ground - r))
    sigma = math.sqrt(float(np.trace(cov)) / 2.0 + (0.1 * back) ** 2)
    t_back = float(_W6.wm @ flight.ground_dt)
    return model.LaunchEstimate(ell.lat, ell.lon, now + t_back, sigma / 1000.0)


def _wrap(lon: float) -> float:
    return (lon + 540.0) % 360.0 - 180.0


# --- the overflight corridor while the motor burns ------------------------------------------------

FAMILY_SIZE = 7  # cut-off times spread over the burn that may remain
THRUST_STEP_S = 10.0  # RK4 step while a member still thrusts (thrust re-aimed along velocity each step)
COAST_STEP_S = 30.0  # and after: the ground track is near straight over this step


def boost_corridor(
    pred: model.ImpactPrediction, x: np.ndarray, thrust_mps2: float, more_s: float
) -> model.ImpactPrediction:
    """The ground track to the instantaneous impact point, re-centred and widened for the burn to come.

    The instantaneous impact point assumes thrust cut now; a motor still burning flies on faster,
    and a faster flight is bent less by the Earth's rotation, so its ground track lies to one side
    of the cut-now one (several km, on an IRBM at the pitch of Japan). When it will cut is unknown:
    the path is one of a family, thrust held along the velocity (a gravity turn, which does not
    steer sideways) for a time uniform in [0, more_s], then ballistic. Each sample of the track is
    moved to the family's mean cross-track offset there, and its half-width takes the family's
    spread on top of the state's own (both as variances)."""
    gt = np.asarray(pred.ground_track, dtype=float).reshape(-1, 4)
    if len(gt) < 2 or thrust_mps2 <= 0.0 or more_s <= 0.0:
        return pred
    horizon = float(gt[-1, 0] - gt[0, 0])
    ground = _family_ground(x, thrust_mps2, np.linspace(0.0, more_s, FAMILY_SIZE), horizon)
    ref = _surface(gt[:, 1], gt[:, 2])
    offsets = _cross_offsets(ref, ground)  # (members, samples), m
    mean = offsets.mean(axis=0)
    spread = offsets.var(axis=0)
    normal = _normals(ref)
    lat, lon = _unsurface(ref + mean[:, None] * normal)
    sigma = np.asarray(pred.track_sigma_km, dtype=float) * 1000.0 / Z_95
    if len(sigma) != len(gt):
        sigma = np.zeros(len(gt))
    width = Z_95 * np.sqrt(sigma**2 + spread) / 1000.0
    track = [
        (float(t), float(a), _wrap(float(o)), float(h))
        for t, a, o, h in zip(gt[:, 0], lat, lon, gt[:, 3], strict=True)
    ]
    return model.ImpactPrediction(
        time=pred.time,
        sigma_time_s=pred.sigma_time_s,
        ellipse=pred.ellipse,
        ground_track=track,
        track_sigma_km=[float(w) for w in width],
    )


def _family_ground(x: np.ndarray, thrust: float, cuts: np.ndarray, horizon: float) -> np.ndarray:
    """(members, steps, 3) sub-missile points (on the sphere of the surface) of the mean state flown
    with the thrust along its velocity until each cut-off time, then ballistic, for `horizon` s."""
    s = np.zeros((len(cuts), 9))
    s[:, 0:6] = x[0:6]
    points = [s[:, 0:3].copy()]
    t = 0.0
    while t < horizon + COAST_STEP_S:
        burning = cuts > t + 1e-9
        step = THRUST_STEP_S if burning.any() else COAST_STEP_S
        if burning.any():
            step = min(step, float(cuts[burning].min() - t))  # no step straddles a cut-off
        v = s[:, 3:6]
        speed = np.linalg.norm(v, axis=1)[:, None]
        s[:, 6:9] = np.where(burning[:, None], thrust * v / np.maximum(speed, 1.0), 0.0)
        s = propagate_many(s, step, max_substep=step)
        t += step
        points.append(s[:, 0:3].copy())
    lat, lon, _ = ecef_to_geodetic(np.stack(points, axis=1))
    return _surface(lat, lon)


def _surface(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Ground points as points of a sphere of radius A (geodetic latitude taken as spherical): a
    map of the ground on which offsets of a few km are metres to within 0.3%, undone exactly."""
    la, lo = np.radians(lat), np.radians(lon)
    return A * np.stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)), axis=-1)


def _unsurface(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.degrees(np.arctan2(p[:, 2], np.hypot(p[:, 0], p[:, 1]))),
        np.degrees(np.arctan2(p[:, 1], p[:, 0])),
    )


def _normals(ref: np.ndarray) -> np.ndarray:
    """Unit vectors across the track (left of the direction of flight), one per sample."""
    along = np.gradient(ref, axis=0)
    up = ref / np.linalg.norm(ref, axis=1)[:, None]
    n = np.cross(up, along)
    return n / np.maximum(np.linalg.norm(n, axis=1), 1e-9)[:, None]


def _cross_offsets(ref: np.ndarray, ground: np.ndarray) -> np.ndarray:
    """Signed cross-track offset (m) of each member's path where it crosses each sample's normal."""
    along_dir = np.gradient(ref, axis=0)
    along_dir /= np.maximum(np.linalg.norm(along_dir, axis=1), 1e-9)[:, None]
    normal = _normals(ref)
    d = ground[:, None, :, :] - ref[None, :, None, :]  # (k, n, m, 3)
    along = np.einsum("knmc,nc->knm", d, along_dir)
    cross = np.einsum("knmc,nc->knm", d, normal)
    # First step along each member's path where it passes the sample's normal line.
    passed = (along[:, :, :-1] <= 0.0) & (along[:, :, 1:] > 0.0)
    j = np.argmax(passed, axis=2)
    found = passed.any(axis=2)
    a0 = np.take_along_axis(along, j[..., None], axis=2)[..., 0]
    a1 = np.take_along_axis(along, j[..., None] + 1, axis=2)[..., 0]
    c0 = np.take_along_axis(cross, j[..., None], axis=2)[..., 0]
    c1 = np.take_along_axis(cross, j[..., None] + 1, axis=2)[..., 0]
    f = np.where(a1 - a0 > 0.0, -a0 / np.where(a1 - a0 > 0.0, a1 - a0, 1.0), 0.0)
    out = c0 + f * (c1 - c0)
    return np.where(found, out, 0.0)  # the first sample (here, now): no offset
