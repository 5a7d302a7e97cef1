"""Figures that `exercise compare` reports, from hand-made views."""

import math

import pytest

from meshwarn.share.compare import Reference, distance_km, figures


def track(ref: str, release: float, status: str, impact: tuple[float, float, float, float] | None) -> dict:
    body: dict = {"id": ref, "status": status, "impact": None}
    if impact:
        lat, lon, major, minor = impact
        body["impact"] = {"ellipse": {"lat": lat, "lon": lon, "semi_major_km": major, "semi_minor_km": minor}}
    return {"kind": "tracks", "ref": ref, "release": release, "time": release, "body": body}


def test_distance_on_the_sphere() -> None:
    assert distance_km((0.0, 0.0), (0.0, 1.0)) == pytest.approx(111.19, abs=0.01)


def test_figures_from_a_view() -> None:
    truth = [(40.0, 140.0), (41.0, 150.0)]
    ref = Reference(launch=100.0, early=200.0, late=300.0, impacts=truth)
    view = [
        track("T1", 130.0, "tentative", None),
        track("T1", 140.0, "confirmed", (40.0, 141.0, 10.0, 2.0)),
        track("T9", 150.0, "confirmed", (10.0, 100.0, 50.0, 50.0)),  # far from any impact: no match
        track("T9", 195.0, "deleted", None),
        track("T1", 190.0, "confirmed", (40.0, 140.5, 4.0, 1.0)),
        track("T1", 260.0, "confirmed", (40.0, 140.0, 2.0, 1.0)),
        track("T2", 270.0, "confirmed", (41.0, 150.0, 3.0, 1.0)),
        {"kind": "alerts", "ref": "A1", "release": 175.0, "time": 170.0, "body": {"msg_type": "Alert"}},
    ]
    found = figures(view, ref, any_alerts=True)
    assert found.first_track_s == 40.0
    assert found.first_warning_s == 75.0  # at release, not when made
    assert found.early.predicted == 1
    assert found.early.error_km == pytest.approx(distance_km((40.0, 140.5), truth[0]))
    assert math.isclose(found.early.area_km2, math.pi * 4.0)
    assert found.late.predicted == 2 and found.late.error_km == pytest.approx(0.0, abs=1e-6)
    assert math.isclose(found.late.area_km2, math.pi * 2.5)
    assert found.tracks == 3
    assert figures(view[:-1], ref, any_alerts=False).first_warning_s is None


def test_a_change_is_shown_at_the_precision_of_its_values() -> None:
    from meshwarn.share.compare import _change, _fmt

    a, b = 0.24, 0.17  # both read "0.2 km" at one decimal, which made "-0.1 km" look wrong
    assert (_fmt(a, "km"), _fmt(b, "km"), _change(a, b, "km")) == ("0.24 km", "0.17 km", "-0.07 km")
    assert _fmt(12.34, "km") == "12.3 km" and _fmt(95.0, "s") == "95.0 s"
    assert (_fmt(0.2449, "km"), _fmt(0.1751, "km"), _change(0.2449, 0.1751, "km")) == ("0.24 km", "0.18 km", "-0.06 km")
