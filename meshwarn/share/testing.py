"""A toy tracker and report makers, for testing the hub without the real tracker.

The toy tracker associates radar plots by range bin (one "object" per 100 km of
range) and keeps, per track, the originators it has seen: enough for the hub's
releasability and lineage logic to be exercised, nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from meshwarn.model import Label, RadarPlot, Report, Track, UnitPosition


@dataclass
class ToyTracker:
    bin_m: float = 100_000.0
    state: dict[str, tuple[float, int, set[str]]] = field(default_factory=dict)

    def process(self, report: Report, arrival: float) -> list[Track]:
        body = report.body
        if not isinstance(body, RadarPlot):
            return []
        tid = f"T{int(body.range_m // self.bin_m)}"
        _time, count, origins = self.state.get(tid, (0.0, 0, set()))
        origins = origins | {report.label.originator}
        self.state[tid] = (body.time, count + 1, origins)
        return [self._track(tid, body.time)]

    def tracks(self, now: float) -> list[Track]:
        return [self._track(tid, now) for tid in self.state]

    def _track(self, tid: str, now: float) -> Track:
        time, count, origins = self.state[tid]
        status = "confirmed" if count >= 3 else "tentative"
        if now - time > 60.0:
            status = "coasting"
        return Track(
            id=tid,
            time=time,
            status=status,
            phase="ballistic",
            lat=38.0,
            lon=130.0,
            h=100_000.0,
            velocity_ecef=(1000.0, 0.0, 0.0),
            sigma_position_m=500.0 / count,
            provenance=tuple(sorted(origins)),
            report_count=count,
        )


def radar_report(
    rid: str,
    origin: str,
    releasable: tuple[str, ...],
    t: float,
    range_m: float = 150_000.0,
    cls: str = "SECRET",
) -> Report:
    plot = RadarPlot(
        time=t,
        sensor=f"{origin}-R1",
        sensor_lat=37.123,
        sensor_lon=127.456,
        sensor_h=100.0,
        range_m=range_m,
        azimuth_deg=10.0,
        elevation_deg=5.0,
        sigma_range_m=100.0,
        sigma_azimuth_deg=0.1,
        sigma_elevation_deg=0.1,
    )
    return Report(rid, Label(origin, cls, releasable), t, plot)  # type: ignore[arg-type]


def unit_report(rid: str, origin: str, releasable: tuple[str, ...], t: float) -> Report:
    unit = UnitPosition(
        time=t, unit=f"{origin}-DDG", lat=37.51234, lon=131.98765, h=0.0, speed_mps=8.0, course_deg=90.0
    )
    return Report(rid, Label(origin, "CONFIDENTIAL", releasable), t, unit)
