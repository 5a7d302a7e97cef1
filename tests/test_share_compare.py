"""Figures that `exercise compare` reports, from hand-made views."""

import math

from meshwarn.share.compare import Reference, figures


def track(ref: str, release: float, status: str, semi: tuple[float, float] | None, count: int) -> dict:
    body = {"id": ref, "status": status, "report_count": count, "impact": None}
    if semi:
        body["impact"] = {"ellipse": {"semi_major_km": semi[0], "semi_minor_km": semi[1]}}
    return {"kind": "tracks", "ref": ref, "release": release, "time": release, "body": body}


def test_figures_from_a_view() -> None:
    ref = Reference(launch=100.0, early=200.0, missiles=1)
    view = [
        track("T1", 130.0, "tentative", None, 2),
        track("T1", 140.0, "confirmed", (10.0, 2.0), 5),
        track("T9", 150.0, "confirmed", (50.0, 50.0), 3),  # a lesser track: not the main one
        track("T1", 190.0, "confirmed", (4.0, 1.0), 9),
        track("T1", 260.0, "confirmed", (2.0, 1.0), 20),
        {"kind": "alerts", "ref": "A1", "release": 175.0, "time": 170.0, "body": {"msg_type": "Alert"}},
    ]
    found = figures(view, ref, any_alerts=True)
    assert found.first_track_s == 40.0
    assert found.first_warning_s == 75.0  # at release, not when made
    assert math.isclose(found.early_ellipse_km2, math.pi * 4.0)
    assert math.isclose(found.ellipse_km2, math.pi * 2.0)
    assert found.tracks == 2
    assert figures(view[:-1], ref, any_alerts=False).first_warning_s is None
