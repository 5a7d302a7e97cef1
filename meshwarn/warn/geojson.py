"""GeoJSON of an exercise for GIS tools: tracks, predicted paths, 95% ellipses, warned regions.

One FeatureCollection; every feature has a ``kind`` property:
``track`` (Point, latest position), ``track_history`` (LineString), ``predicted_ground_track``
(LineString, the latest prediction), ``impact_ellipse`` (Polygon, 95%), ``warned_region``
(the region's outline, with its alert history) and ``alert_area`` (the area at risk of the
latest alert of each region). Maritime: ``vessel_track`` (Point, latest snapshot),
``vessel_history`` (LineString) and ``anomaly`` (Point, with its kind, vessels and evidence).
Coordinates are [lon, lat] (RFC 7946).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import shapely

from meshwarn.geo.regions import ATTRIBUTION, load_regions
from meshwarn.model import Alert, Anomaly, Track
from meshwarn.warn.areas import ellipse_polygon


def _feature(geometry: Any, **props: Any) -> dict[str, Any]:
    geo = geometry if isinstance(geometry, dict) else shapely.geometry.mapping(geometry)
    return {"type": "Feature", "geometry": _plain(geo), "properties": props}


def _plain(obj: Any) -> Any:
    """shapely's mapping uses tuples; JSON wants lists."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj


def histories(tracks: Iterable[Track]) -> dict[str, list[Track]]:
    """Each track's updates, in the order given, by track id."""
    by_id: dict[str, list[Track]] = {}
    for t in tracks:
        by_id.setdefault(t.id, []).append(t)
    return by_id


def track_features(tracks: Iterable[Track]) -> list[dict[str, Any]]:
    out = []
    for tid, ts in histories(tracks).items():
        last = ts[-1]
        out.append(_feature({"type": "Point", "coordinates": [last.lon, last.lat, last.h]}, kind="track", id=tid,
                            time=last.time, status=last.status, phase=last.phase,
                            provenance=list(last.provenance), classification=last.classification))  # fmt: skip
        if len(ts) > 1:
            line = [[t.lon, t.lat, t.h] for t in ts]
            out.append(_feature({"type": "LineString", "coordinates": line}, kind="track_history", id=tid))
        predicted = next((t.impact for t in reversed(ts) if t.impact is not None), None)
        if predicted is None:
            continue
        if len(predicted.ground_track) >= 2:
            line = [[lon, lat] for _, lat, lon, _ in predicted.ground_track]
            out.append(_feature({"type": "LineString", "coordinates": line}, kind="predicted_ground_track",
                                id=tid, impact_time=predicted.time))  # fmt: skip
        out.append(_feature(ellipse_polygon(predicted.ellipse), kind="impact_ellipse", id=tid,
                            impact_time=predicted.time, semi_major_km=predicted.ellipse.semi_major_km,
                            semi_minor_km=predicted.ellipse.semi_minor_km))  # fmt: skip
    return out


def vessel_features(tracks: Iterable[Track]) -> list[dict[str, Any]]:
    out = []
    for tid, ts in histories(tracks).items():
        last = ts[-1]
        out.append(_feature({"type": "Point", "coordinates": [last.lon, last.lat]}, kind="vessel_track", id=tid,
                            time=last.time, status=last.status, identified=tid.startswith("V"),
                            provenance=list(last.provenance), classification=last.classification))  # fmt: skip
        if len(ts) > 1:
            line = [[t.lon, t.lat] for t in ts]
            out.append(_feature({"type": "LineString", "coordinates": line}, kind="vessel_history", id=tid))
    return out


def anomaly_features(anomalies: Iterable[Anomaly]) -> list[dict[str, Any]]:
    return [
        _feature({"type": "Point", "coordinates": [a.lon, a.lat]}, kind="anomaly", id=a.id, anomaly=a.kind,
                 time=a.time, end_time=a.end_time, tracks=list(a.tracks), mmsi=list(a.mmsi),
                 evidence=list(a.evidence), evidence_partners=list(a.evidence_partners),
                 provenance=list(a.provenance), classification=a.classification, zone=a.zone, detail=a.detail)
        for a in anomalies
    ]  # fmt: skip


def alert_features(alerts: Iterable[Alert]) -> list[dict[str, Any]]:
    regions = load_regions()
    chains: dict[str, list[Alert]] = {}
    for a in sorted(alerts, key=lambda a: a.sent):
        chains.setdefault(f"{a.event_id}/{a.region_code}", []).append(a)
    out = []
    for chain in chains.values():
        first, last = chain[0], chain[-1]
        props = dict(region=last.region_code, name=last.region_name, country=last.country, event=last.event_id,
                     reason=last.reason, first_alert=first.sent, last_message=last.msg_type,
                     expected_time=last.expected_time, messages=len(chain), headline=last.headline)  # fmt: skip
        region = regions.get(last.region_code)
        if region is not None:
            out.append(_feature(region.geometry.simplify(0.005), kind="warned_region", **props))
        if len(last.polygon) >= 4:
            ring = [[lon, lat] for lat, lon in last.polygon]
            out.append(_feature({"type": "Polygon", "coordinates": [ring]}, kind="alert_area", **props))
    return out


def feature_collection(
    tracks: Iterable[Track], alerts: Iterable[Alert], anomalies: Iterable[Anomaly] = ()
) -> dict[str, Any]:
    tracks = list(tracks)
    missiles = [t for t in tracks if t.domain != "surface"]
    vessels = [t for t in tracks if t.domain == "surface"]
    return {
        "type": "FeatureCollection",
        "features": track_features(missiles)
        + alert_features(alerts)
        + vessel_features(vessels)
        + anomaly_features(anomalies),
        "attribution": ATTRIBUTION,
    }
