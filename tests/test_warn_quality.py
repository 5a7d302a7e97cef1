"""Warning quality against the truth: warned, late, missed and false regions, lead times."""

from __future__ import annotations

from meshwarn.model import Alert
from meshwarn.warn.quality import regions_at_risk, warning_quality
from tests.test_warn_fixtures import irbm, srbm_sea_of_japan, truth_of


def _alert(code: str, kind: str, sent: float, n: int = 1) -> Alert:
    return Alert(f"EV.{code}.{n}", "EV", "T1", code, code, "JPN", kind, "overflight", sent, sent + 100.0, "h")


def test_regions_at_risk_from_the_true_flights() -> None:
    obj = irbm()
    risk = regions_at_risk(obj)
    assert list(risk) == ["JP-02"] and risk["JP-02"]["reason"] == "overflight"
    assert obj.launch_time + 300 < risk["JP-02"]["time"] < obj.launch_time + 500
    assert regions_at_risk(obj, countries=("KOR",)) == {}
    sea = regions_at_risk(srbm_sea_of_japan())
    assert {k: v["reason"] for k, v in sea.items()} == {"JPN-MZ": "maritime_zone", "KOR-MZ": "maritime_zone"}


def test_warned_late_missed_and_false() -> None:
    obj, sea = irbm(), srbm_sea_of_japan()
    truth = truth_of(obj, sea)
    over = regions_at_risk(obj)["JP-02"]["time"]
    alerts = [
        _alert("JP-02", "Alert", obj.launch_time + 100.0),
        _alert("JP-02", "Cancel", over + 60.0, 2),
        _alert("JPN-MZ", "Alert", sea.impact_time + 5.0),  # after it came down
        _alert("JP-13", "Alert", obj.launch_time + 120.0),  # Tokyo, never at risk
        _alert("JP-13", "Cancel", obj.launch_time + 150.0, 2),
    ]
    q = warning_quality(alerts, truth)
    assert q["at_risk"] == ["JP-02", "JPN-MZ", "KOR-MZ"]
    assert q["false"] == ["JP-13"] and q["missed"] == ["KOR-MZ"] and q["late"] == ["JPN-MZ"]
    aomori = q["regions"]["JP-02"]
    assert aomori["status"] == "warned" and aomori["from_launch_s"] == 100.0
    assert aomori["lead_time_s"] == round(over - obj.launch_time - 100.0, 1)
    assert aomori["cancelled"] == over + 60.0
    assert q["regions"]["JPN-MZ"]["lead_time_s"] == -5.0
    assert q["regions"]["JP-13"]["cancelled"] == obj.launch_time + 150.0
    assert 400.0 < q["regions"]["JP-13"]["miss_distance_km"] < 700.0  # Tokyo: the IRBM passed far north
    assert "miss_distance_km" not in q["regions"]["JP-02"]
    assert q["regions"]["KOR-MZ"]["true_time"] == sea.impact_time  # missed: and when
    assert q["messages"] == {"Alert": 3, "Update": 0, "Cancel": 2}
    assert q["min_lead_time_s"] == -5.0
