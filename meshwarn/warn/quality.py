"""How good the warnings were, against the truth.

``warning_quality(alerts, truth)`` is what ``meshwarn exercise score`` calls. For every
missile in the truth, the regions *at risk* are the land regions (of the warned countries)
its true ground track crosses, with the time it first is over each, and the region (or
200 nmi maritime zones) where it truly came down, at the impact time. Then, per region:

- ``first_alert``: when the first Alert for it was sent (POSIX s), ``from_launch_s``: that
  minus the launch time;
- ``lead_time_s``: true overflight/impact time minus first alert (negative = late);
- ``status``: ``warned`` (at risk, warned before it happened), ``late`` (warned after),
  ``missed`` (at risk, never warned), ``false`` (warned, never at risk; with
  ``miss_distance_km``, how far from the region the missile's true path passed).

Alerts are matched to regions by ``region_code``; with several missiles, a region is at
risk if any of them puts it at risk (the earliest time counts).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import shapely
import shapely.ops

from meshwarn.geo.regions import ZONE_KM, RegionSet, load_regions, to_local
from meshwarn.model import Alert, Truth, TruthObject

DEFAULT_COUNTRIES = ("JPN", "KOR")


def regions_at_risk(
    obj: TruthObject, countries: Iterable[str] = DEFAULT_COUNTRIES, regions: RegionSet | None = None
) -> dict[str, dict[str, Any]]:
    """{code: {name, reason, time}} for the regions one true flight put at risk."""
    regions = regions or load_regions()
    countries = set(countries)
    s = np.asarray(obj.samples, dtype=float)
    out: dict[str, dict[str, Any]] = {}
    if len(s) >= 2:
        segs = shapely.linestrings(np.stack([s[:-1, [2, 1]], s[1:, [2, 1]]], axis=1))
        for seg, reg in regions.land_touching(segs).T:
            region = regions.land[int(reg)]
            t = float(s[int(seg), 0])
            if region.country in countries and (region.code not in out or t < out[region.code]["time"]):
                out[region.code] = {"name": region.name, "reason": "overflight", "time": t}
    landed = regions.land_at(obj.impact_lat, obj.impact_lon)
    if landed is not None and landed.country in countries:
        out[landed.code] = {"name": landed.name, "reason": "impact", "time": obj.impact_time}
    elif landed is None:
        point = shapely.Point(obj.impact_lon, obj.impact_lat)
        for country, km in regions.coast_distances_km(point).items():
            if country in countries and km <= ZONE_KM:
                out[f"{country}-MZ"] = {"name": f"{country} maritime zone", "reason": "maritime_zone",
                                        "time": obj.impact_time}  # fmt: skip
    return out


def _miss_distance_km(code: str, missiles: list[TruthObject]) -> float | None:
    """How far the nearest true ground track (or impact point) passed from a region, km."""
    regions = load_regions()
    region = regions.get(code)
    if region is None or not missiles:
        return None
    best = math.inf
    for obj in missiles:
        s = np.asarray(obj.samples, dtype=float)
        path = (
            shapely.LineString(s[:, [2, 1]]) if len(s) >= 2 else shapely.Point(obj.impact_lon, obj.impact_lat)
        )
        near = shapely.ops.nearest_points(region.simple, path)[0]
        d = to_local(path, near.y, near.x).distance(shapely.Point(0.0, 0.0))
        best = min(best, float(d))
    return round(best, 1)


def warning_quality(
    alerts: Iterable[Alert], truth: Truth, countries: Iterable[str] = DEFAULT_COUNTRIES
) -> dict[str, Any]:
    """Per-region and overall warning figures (see the module docstring)."""
    alerts = sorted(alerts, key=lambda a: a.sent)
    missiles = [o for o in truth.objects if o.kind == "missile"]
    at_risk: dict[str, dict[str, Any]] = {}
    for obj in missiles:
        for code, info in regions_at_risk(obj, countries).items():
            if code not in at_risk or info["time"] < at_risk[code]["time"]:
                at_risk[code] = info | {"launch": obj.launch_time}
    launch = min((o.launch_time for o in missiles), default=truth.start_time)
    first: dict[str, Alert] = {}
    cancelled: dict[str, float] = {}
    for a in alerts:
        if a.msg_type == "Alert":
            first.setdefault(a.region_code, a)
        elif a.msg_type == "Cancel":
            cancelled[a.region_code] = a.sent
    per: dict[str, dict[str, Any]] = {}
    for code in sorted(set(at_risk) | set(first)):
        risk, alert = at_risk.get(code), first.get(code)
        row: dict[str, Any] = {"name": (risk or {}).get("name") or alert.region_name}  # type: ignore[union-attr]
        if risk:
            row |= {"reason": risk["reason"], "true_time": risk["time"]}
        if alert:
            row |= {
                "first_alert": alert.sent,
                "from_launch_s": round(alert.sent - (risk or {}).get("launch", launch), 1),
            }
            row["cancelled"] = cancelled.get(code)
        if risk and alert:
            row["lead_time_s"] = round(risk["time"] - alert.sent, 1)
            row["status"] = "warned" if row["lead_time_s"] >= 0 else "late"
        else:
            row["status"] = "missed" if risk else "false"
        if row["status"] == "false":
            row["miss_distance_km"] = _miss_distance_km(code, missiles)
        per[code] = row
    leads = [r["lead_time_s"] for r in per.values() if "lead_time_s" in r]
    return {
        "regions": per,
        "at_risk": sorted(at_risk),
        "warned": sorted(first),
        "false": sorted(c for c, r in per.items() if r["status"] == "false"),
        "missed": sorted(c for c, r in per.items() if r["status"] == "missed"),
        "late": sorted(c for c, r in per.items() if r["status"] == "late"),
        "min_lead_time_s": min(leads) if leads else None,
        "mean_lead_time_s": round(float(np.mean(leads)), 1) if leads else None,
        "messages": {k: sum(a.msg_type == k for a in alerts) for k in ("Alert", "Update", "Cancel")},
    }
