"""Precision and recall of each anomaly kind against the scenario's truth.

An anomaly matches a truth event of its kind when their times overlap (with slack) and it names the
event's vessel: the same MMSI, or a position within 5 km of where the vessel truly was at that time.
Recall counts the events the sensors could show: dark, spoofing and rendezvous events need at least
three detections of the vessel (an unobserved dark vessel cannot be found); recall over all events is
reported beside it.
"""

from __future__ import annotations

import numpy as np

from meshwarn.maritime.frame import EARTH_RADIUS_M
from meshwarn.maritime.truth import MaritimeTruth, TruthEvent
from meshwarn.model import Anomaly

KINDS = ("dark_vessel", "ais_gap", "spoofing", "loitering", "rendezvous", "zone_entry")
NEEDS_SENSORS = {"dark_vessel", "spoofing", "rendezvous"}
SLACK_S = {"zone_entry": 900.0}
DEFAULT_SLACK_S = 1800.0
MATCH_M = 5000.0


def _distance_m(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))


def matches(anomaly: Anomaly, event: TruthEvent) -> bool:
    slack = SLACK_S.get(event.kind, DEFAULT_SLACK_S)
    if anomaly.end_time < event.start - slack or anomaly.time > event.end + slack:
        return False
    if set(anomaly.mmsi) & {m for m in event.mmsi if m}:
        return True
    if event.kind in ("ais_gap", "spoofing"):
        return False  # these are about an MMSI
    samples = np.array(event.samples, dtype=float).reshape(-1, 3)
    near = np.abs(samples[:, 0] - np.clip(anomaly.time, samples[0, 0], samples[-1, 0])) <= 600.0
    if not near.any():
        return False
    d = _distance_m(anomaly.lat, anomaly.lon, samples[near, 1], samples[near, 2])
    return bool(d.min() < MATCH_M)


def score(anomalies: list[Anomaly], truth: MaritimeTruth) -> dict[str, dict[str, float | int | None]]:
    result: dict[str, dict[str, float | int | None]] = {}
    for kind in KINDS:
        found = [a for a in anomalies if a.kind == kind]
        events = [e for e in truth.events if e.kind == kind]
        observable = [
            e for e in events if not e.optional and (kind not in NEEDS_SENSORS or e.observations >= 3)
        ]
        hit_found = sum(any(matches(a, e) for e in events) for a in found)
        hit_obs = sum(any(matches(a, e) for a in found) for e in observable)
        required = [e for e in events if not e.optional]
        hit_all = sum(any(matches(a, e) for a in found) for e in required)
        result[kind] = {
            "anomalies": len(found),
            "events": len(required),
            "observable_events": len(observable),
            "precision": round(hit_found / len(found), 3) if found else None,
            "recall": round(hit_obs / len(observable), 3) if observable else None,
            "recall_all_events": round(hit_all / len(required), 3) if required else None,
        }
    return result
