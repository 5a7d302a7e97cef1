"""`meshwarn exercise plot`: an exercise on a map of the region, as a PNG.

Outlines come from the GeoJSON shipped in meshwarn/data (offline; Agg backend, no
tiles). The map is in plain longitude/latitude with the aspect of its mid latitude:
good enough to see where tracks, coverage and detections lie.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from meshwarn import exercise  # noqa: E402
from meshwarn.errors import InputError  # noqa: E402
from meshwarn.geo.earth import destination, ecef_to_geodetic, geodetic_to_ecef  # noqa: E402
from meshwarn.model import RadarPlot, SensorInfo, Truth  # noqa: E402
from meshwarn.sim.sensors import enu_axes  # noqa: E402
from meshwarn.sim.simulate import REPORT_TRUTH  # noqa: E402

PARTNER_COLOURS = {"KOR": "#1f63b4", "JPN": "#c8102e", "USA": "#2a8a3e", "AUS": "#e08a00", "IND": "#7b3fa0"}
OTHER_COLOURS = ["#8c564b", "#17becf", "#bcbd22", "#e377c2"]
MAP_LIMITS = (100.0, 180.0, 15.0, 60.0)  # lon min, lon max, lat min, lat max: the shipped outlines
DATA = resources.files("meshwarn") / "data"


def colour(partner: str) -> str:
    if partner not in PARTNER_COLOURS:
        PARTNER_COLOURS[partner] = OTHER_COLOURS[len(PARTNER_COLOURS) % len(OTHER_COLOURS)]
    return PARTNER_COLOURS[partner]


def rings(filename: str) -> list[np.ndarray]:
    """Every outer and inner ring of the (Multi)Polygons in a shipped GeoJSON file, as (lon, lat)."""
    data = json.loads((DATA / filename).read_text(encoding="utf-8"))
    out: list[np.ndarray] = []
    for feature in data["features"]:
        geometry = feature["geometry"]
        polygons = (
            geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        )
        out.extend(np.asarray(ring)[:, :2] for polygon in polygons for ring in polygon)
    return out


def radar_plots_latlon(plots: list[RadarPlot]) -> tuple[np.ndarray, np.ndarray]:
    """Where radar plots put their targets: latitude and longitude, vectorised over plots."""
    if not plots:
        return np.zeros(0), np.zeros(0)
    cols = np.array(
        [(p.sensor_lat, p.sensor_lon, p.sensor_h, p.range_m, p.azimuth_deg, p.elevation_deg) for p in plots]
    )
    lat, lon, h, r, az, el = cols.T
    az, el = np.radians(az), np.radians(el)
    enu = np.stack([r * np.cos(el) * np.sin(az), r * np.cos(el) * np.cos(az), r * np.sin(el)], axis=-1)
    ecef = geodetic_to_ecef(lat, lon, h) + np.einsum("nij,ni->nj", enu_axes(lat, lon), enu)
    plat, plon, _ = ecef_to_geodetic(ecef)
    return plat, plon


def coverage_polygon(sensor: SensorInfo, steps: int = 90) -> np.ndarray:
    """The sensor's coverage out to its maximum range on the ground, as (lon, lat) points."""
    width = (sensor.azimuth_max_deg - sensor.azimuth_min_deg) % 360.0
    full = width == 0.0 or sensor.azimuth_max_deg - sensor.azimuth_min_deg >= 360.0
    azimuths = np.linspace(sensor.azimuth_min_deg, sensor.azimuth_min_deg + (360.0 if full else width), steps)
    edge = [destination(sensor.lat, sensor.lon, a, sensor.max_range_km) for a in azimuths]
    points = edge if full else [(sensor.lat, sensor.lon), *edge, (sensor.lat, sensor.lon)]
    lat, lon = np.array(points).T
    # Keep the ring continuous where it crosses the antimeridian.
    lon = np.where(lon < sensor.lon - 180.0, lon + 360.0, lon)
    return np.column_stack([lon, lat])


def extent(truth: Truth) -> tuple[float, float, float, float]:
    """The map's bounds: tracks and surface sensors with a margin, within the shipped outlines."""
    lons: list[float] = []
    lats: list[float] = []
    for obj in truth.objects:
        lats += [s[1] for s in obj.samples]
        lons += [s[2] % 360.0 for s in obj.samples]
    for s in truth.sensors:
        if s.kind != "ir_satellite":
            lats.append(s.lat)
            lons.append(s.lon % 360.0)
    lo_lon, hi_lon, lo_lat, hi_lat = MAP_LIMITS
    west, east = max(lo_lon, min(lons) - 3.0), min(hi_lon, max(lons) + 3.0)
    south, north = max(lo_lat, min(lats) - 2.5), min(hi_lat, max(lats) + 2.5)
    return west, east, south, north


def _draw_map(ax: plt.Axes) -> None:
    land = rings("countries_east_asia.geojson")
    ax.add_collection(PolyCollection(land, facecolor="#ecebe4", edgecolor="#8a8a80", linewidth=0.6, zorder=0))
    inner = rings("japan_prefectures.geojson") + rings("korea_provinces.geojson")
    ax.add_collection(LineCollection(inner, colors="#c4c3b8", linewidths=0.3, zorder=0.5))
    ax.set_facecolor("#f4f8fb")


def _draw_coverage(ax: plt.Axes, truth: Truth) -> list[str]:
    notes = []
    for s in truth.sensors:
        c = colour(s.partner)
        if s.kind == "ir_satellite":
            notes.append(f"{s.name} ({s.partner}) infrared, over {s.lat:.0f}N {s.lon:.0f}E")
            ax.plot(s.lon, s.lat, marker="*", color=c, markersize=12, zorder=4, clip_on=True)
            continue
        poly = coverage_polygon(s)
        ax.plot(poly[:, 0], poly[:, 1], color=c, alpha=0.5, linewidth=0.6, linestyle="--", zorder=1)
        marker = "s" if s.kind == "ground_radar" else "D"
        ax.plot(
            s.lon,
            s.lat,
            marker=marker,
            color=c,
            markersize=5,
            markeredgecolor="k",
            markeredgewidth=0.4,
            zorder=5,
        )
        ax.annotate(
            s.name,
            (s.lon, s.lat),
            xytext=(3, -8),
            textcoords="offset points",
            fontsize=5.5,
            color=c,
            zorder=6,
        )
    return notes


def _draw_reports(ax: plt.Axes, directory: Path) -> dict[str, int]:
    plots: list[RadarPlot] = []
    partners: list[str] = []
    ids: list[str] = []
    units: dict[str, list[tuple[float, float]]] = {}
    counts = {"radar": 0, "ir": 0, "unit": 0}
    for delivery in exercise.read_deliveries(directory):
        report = delivery.report
        counts[report.kind] = counts.get(report.kind, 0) + 1
        if isinstance(report.body, RadarPlot):
            plots.append(report.body)
            partners.append(report.label.originator)
            ids.append(report.id)
        elif report.kind == "unit":
            units.setdefault(report.body.unit, []).append(
                (report.body.time, report.body.lon, report.body.lat)
            )
    truth_file = directory / REPORT_TRUTH
    real = json.loads(truth_file.read_text()) if truth_file.exists() else {i: "?" for i in ids}
    lat, lon = radar_plots_latlon(plots)
    is_real = np.array([i in real for i in ids], dtype=bool)
    for partner in sorted(set(partners)):
        mine = np.array([p == partner for p in partners], dtype=bool)
        sel = mine & is_real
        ax.scatter(lon[sel] % 360.0, lat[sel], s=4, color=colour(partner), alpha=0.6, linewidths=0, zorder=8)
    ax.scatter(
        lon[~is_real] % 360.0, lat[~is_real], s=6, marker="x", color="#777777", linewidths=0.5, zorder=2
    )
    for track in units.values():
        _, x, y = zip(*sorted(track), strict=True)
        ax.plot(x, y, color="#444444", linewidth=1.2, zorder=4)
    counts["false"] = int(np.count_nonzero(~is_real))
    return counts


def _draw_truth(ax: plt.Axes, truth: Truth) -> None:
    for obj in truth.objects:
        lat = [s[1] for s in obj.samples]
        lon = [s[2] % 360.0 for s in obj.samples]
        ax.plot(lon, lat, color="black", linewidth=0.7, zorder=7)
        ax.plot(obj.launch_lon, obj.launch_lat, marker="^", color="black", markersize=7, zorder=9)
        ax.plot(obj.impact_lon % 360.0, obj.impact_lat, marker="X", color="#b00000", markersize=8, zorder=9)
        ax.annotate(
            f"{obj.id}\n{obj.apogee_km:.0f} km apogee",
            (obj.impact_lon % 360.0, obj.impact_lat),
            xytext=(4, 4),
            textcoords="offset points",
            fontsize=6.5,
            zorder=9,
        )


def plot_exercise(directory: Path, out: Path) -> Path:
    """Draw the exercise in directory to a PNG at out."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"{directory}: no such exercise directory")
    truth = exercise.read_truth(directory)
    west, east, south, north = extent(truth)
    aspect = (north - south) / ((east - west) * math.cos(math.radians((south + north) / 2.0)))
    fig, ax = plt.subplots(figsize=(11, min(max(11 * aspect + 1.2, 5.0), 11.0)), dpi=120)
    try:
        _draw_map(ax)
        notes = _draw_coverage(ax, truth)
        counts = _draw_reports(ax, directory)
        _draw_truth(ax, truth)
        ax.set_xlim(west, east)
        ax.set_ylim(south, north)
        ax.set_aspect(1.0 / math.cos(math.radians((south + north) / 2.0)))
        ax.set_xlabel("longitude (deg E)")
        ax.set_ylabel("latitude (deg N)")
        ax.grid(color="#d0d0d0", linewidth=0.3)
        ax.set_title(
            f"{truth.scenario}: {len(truth.objects)} missile(s); {counts['radar']} radar plots "
            f"({counts['false']} false), {counts['ir']} IR lines of sight, {counts['unit']} unit positions",
            fontsize=9,
        )
        ax.legend(handles=_legend(truth, notes), loc="best", fontsize=6.5, framealpha=0.9)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, bbox_inches="tight")
    finally:
        plt.close(fig)
    return out


def _legend(truth: Truth, notes: list[str]) -> list[Line2D]:
    handles = [
        Line2D([], [], color="black", linewidth=0.7, marker="^", label="ground track, launch"),
        Line2D([], [], color="#b00000", linestyle="none", marker="X", label="impact"),
        Line2D([], [], color="#777777", linestyle="none", marker="x", label="false plots"),
        Line2D([], [], color="#444444", linewidth=1.2, label="ship tracks (own-unit positions)"),
        Line2D([], [], color="gray", linestyle="--", label="radar coverage (max range)"),
    ]
    for partner in sorted({s.partner for s in truth.sensors}):
        handles.append(
            Line2D([], [], color=colour(partner), linestyle="none", marker="o", label=f"{partner} plots")
        )
    handles += [Line2D([], [], color="none", label=note) for note in notes]
    return handles
