"""Redaction at the agreed precision, and the combined terms for products of several originators."""

from hypothesis import given
from hypothesis import strategies as st

from meshwarn.model import Ellipse, ImpactPrediction, Track
from meshwarn.share.agreements import Terms, load
from meshwarn.share.compare import distance_km
from meshwarn.share.guard import product_terms, redact_track, round_latlon


@given(st.floats(-80, 80), st.floats(-180, 180), st.sampled_from([1.0, 5.0, 10.0, 50.0]))
def test_rounding_moves_a_point_at_most_about_the_grid_and_is_idempotent(lat, lon, km) -> None:
    rlat, rlon = round_latlon(lat, lon, km)
    assert distance_km((lat, lon), (rlat, rlon)) <= km * 0.75 + 0.01
    assert round_latlon(rlat, rlon, km) == (rlat, rlon)


def a_track() -> Track:
    impact = ImpactPrediction(
        time=2000.0,
        sigma_time_s=5.0,
        ellipse=Ellipse(lat=40.1234, lon=142.5678, semi_major_km=20.0, semi_minor_km=5.0, bearing_deg=80.0),
        ground_track=[(1500.0, 39.0, 135.0, 900_000.0)],
        track_sigma_km=[3.0],
    )
    return Track(
        id="T1",
        time=1000.0,
        status="confirmed",
        phase="ballistic",
        lat=38.98765,
        lon=131.23456,
        h=512_345.0,
        velocity_ecef=(1234.5, -2345.6, 345.6),
        sigma_position_m=300.0,
        provenance=("KOR", "USA"),
        position_ecef=(1.0, 2.0, 3.0),
        covariance=tuple(float(i) for i in range(36)),
        impact=impact,
    )


def test_rounded_track_keeps_no_exact_position() -> None:
    kind, body = redact_track(a_track(), Terms("x", round_km=10.0))
    assert kind == "tracks"
    assert (body.lat, body.lon) != (38.98765, 131.23456) and abs(body.lat - 38.98765) < 0.1
    assert body.position_ecef == (0.0, 0.0, 0.0) and body.covariance == ()
    assert body.h % 10_000 == 0 and body.sigma_position_m >= 5_000
    assert body.impact.ground_track == [] and body.impact.ellipse.lat != 40.1234


def test_impact_only_shares_the_impact_area_and_time_alone() -> None:
    kind, notice = redact_track(a_track(), Terms("x", impact_only=True))
    assert kind == "impacts"
    assert notice.track_id == "T1" and notice.impact.time == 2000.0 and notice.impact.ellipse.lat == 40.1234
    assert notice.impact.ground_track == [] and not hasattr(notice, "lat")


def test_a_product_takes_the_strictest_terms_of_its_originators() -> None:
    tri = load("trilateral")
    assert product_terms(("KOR", "JPN"), "USA", "tracks", tri) is not None
    unit = product_terms(("KOR", "USA"), "JPN", "unit", tri)
    assert unit is not None and (unit.round_km, unit.delay_s) == (10.0, 60.0)
    dyads = load("two-dyads")
    assert product_terms(("KOR", "USA"), "JPN", "tracks", dyads) is None  # KOR's part is not covered
    assert product_terms(("JPN", "USA"), "JPN", "tracks", dyads) is not None


def test_a_ship_radar_plot_goes_out_at_the_own_unit_terms() -> None:
    """A plot carries its ship's position: it may not tell a partner more than the unit terms do."""
    import msgspec

    from meshwarn.share.agreements import load
    from meshwarn.share.guard import raw_recipients, redact_report
    from meshwarn.share.testing import radar_report

    agreements = load("trilateral")  # radar in full and at once; own units rounded to 10 km, 60 s late
    plot = radar_report("r1", "JPN", ("JPN", "USA", "KOR"), 1000.0)
    ground = dict(raw_recipients(plot, agreements))
    assert ground["USA"].round_km == 0 and ground["USA"].delay_s == 0
    ship = msgspec.structs.replace(plot, body=msgspec.structs.replace(plot.body, sensor_moving=True))
    terms = dict(raw_recipients(ship, agreements))
    assert terms["USA"].round_km >= 10 and terms["USA"].delay_s >= 60
    sent = redact_report(ship, terms["USA"].round_km).body
    assert (sent.sensor_lat, sent.sensor_lon) != (ship.body.sensor_lat, ship.body.sensor_lon)


def test_rounding_an_ais_report_drops_the_raw_sentence() -> None:
    from meshwarn.model import AisPosition, Label, Report
    from meshwarn.share.guard import redact_report

    body = AisPosition(time=1.0, mmsi=440123456, lat=37.54321, lon=129.98765, raw="!AIVDM,1,1,,A,exact,0*00")
    report = Report(id="a1", label=Label("KOR", "UNCLASSIFIED", ("KOR", "JPN")), sent=1.0, body=body)
    sent = redact_report(report, 10.0).body
    assert sent.raw == "" and (sent.lat, sent.lon) != (37.54321, 129.98765)
