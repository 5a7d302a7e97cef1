"""The maritime picture as Cursor on Target (surface track types, anomaly points) and GeoJSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from meshwarn.cli import main
from meshwarn.model import Anomaly, Track
from meshwarn.warn.cot import anomaly_event, suspects_of, track_events

SMALL = Path(__file__).parent / "data" / "maritime-small.toml"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("maritime-out") / "run"
    assert main(["maritime", "run", str(SMALL), "--agreements", "trilateral", "--out", str(out)]) == 0
    assert main(["maritime", "fuse", str(out)]) == 0
    return out


def _vessel(track_id: str) -> Track:
    return Track(
        id=track_id, time=1.7e9, status="confirmed", phase="surface", lat=35.0, lon=129.5, h=0.0,
        velocity_ecef=(3.0, -2.0, 1.0), sigma_position_m=80.0, provenance=("KOR",), domain="surface",
    )  # fmt: skip


def test_surface_track_types_by_identity_and_suspicion() -> None:
    def type_of(track: Track, suspects=frozenset()) -> str:
        (event,) = track_events(track, suspects)
        return etree.fromstring(event).get("type")

    assert type_of(_vessel("V440123456")) == "a-n-S"  # AIS identity
    assert type_of(_vessel("S17")) == "a-u-S"  # radar or imagery only
    assert type_of(_vessel("S17"), frozenset({"S17"})) == "a-s-S"
    dark = Anomaly(id="d", kind="dark_vessel", time=1.7e9, end_time=1.7e9 + 600, lat=35.0, lon=129.5,
                   tracks=("S17",), evidence=("KOR-busan-radar-1",), evidence_partners=("KOR",))  # fmt: skip
    loiter = Anomaly(
        id="l", kind="loitering", time=1.7e9, end_time=1.7e9, lat=35.0, lon=129.5, tracks=("V1",)
    )
    assert suspects_of([dark, loiter]) == {"S17"}
    event = etree.fromstring(anomaly_event(dark))
    assert event.get("type") == "b-m-p-s-m" and event.get("uid") == "meshwarn.anomaly.d"
    assert float(event.find("point").get("lat")) == pytest.approx(35.0)
    remarks = event.find("detail/remarks").text
    assert "dark vessel" in remarks and "S17" in remarks and "KOR" in remarks


def test_export_cot_of_a_partner_view_has_vessels_and_anomalies(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "kor.xml"
    assert main(["export", "cot", str(run_dir), "--view", "KOR", "--out", str(out)]) == 0
    events = [etree.fromstring(line) for line in out.read_bytes().splitlines()]
    types = {e.get("type") for e in events}
    assert {"a-n-S", "a-s-S", "b-m-p-s-m"} <= types  # confirmed no-AIS vessels are all dark: suspect
    assert not any(t.startswith("a-h-A") for t in types)  # no vessel drawn as a missile
    remarks = [e.find("detail/remarks").text for e in events if e.get("type") == "b-m-p-s-m"]
    assert not any("JPN-P1" in r for r in remarks)  # Japan's patrol aircraft is not released to Korea


def test_export_geojson_of_a_view_and_of_a_fused_directory(run_dir: Path) -> None:
    assert main(["export", "geojson", str(run_dir), "--view", "USA"]) == 0
    view = json.loads((run_dir / "views" / "USA.geojson").read_text())
    assert main(["export", "geojson", str(run_dir)]) == 0
    fused = json.loads((run_dir / "exercise.geojson").read_text())
    for fc in (view, fused):
        kinds = [f["properties"]["kind"] for f in fc["features"]]
        assert kinds.count("vessel_track") >= 30 and "vessel_history" in kinds
        found = {f["properties"]["anomaly"] for f in fc["features"] if f["properties"]["kind"] == "anomaly"}
        assert {"dark_vessel", "spoofing", "rendezvous"} <= found
        point = next(f for f in fc["features"] if f["properties"]["kind"] == "anomaly")
        lon, lat = point["geometry"]["coordinates"]
        assert 120 < lon < 140 and 30 < lat < 45 and point["properties"]["evidence"]
        assert "track" not in kinds  # vessels are not missile tracks
