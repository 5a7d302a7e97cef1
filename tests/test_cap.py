"""CAP 1.2: every document the warning stage writes is valid against the official OASIS schema."""

from __future__ import annotations

import pytest
from lxml import etree

from meshwarn.errors import InputError
from meshwarn.model import Alert
from meshwarn.warn.cap import NS, cap_bytes, cap_polygon, cap_schema, validate, write_alerts
from meshwarn.warn.commands import issue_alerts
from meshwarn.warn.synth import decaying, tracks_from_truth
from tests.test_warn_fixtures import irbm, srbm_sea_of_japan

C = {"c": NS}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    alerts = issue_alerts(tracks_from_truth(irbm(), offset_km=decaying(-70.0, 0.0, 40.0, 60.0)))
    alerts += issue_alerts(tracks_from_truth(srbm_sea_of_japan(), track_id="T2"))
    directory = tmp_path_factory.mktemp("exercise")
    return alerts, write_alerts(directory, alerts)


def test_every_cap_file_is_valid_against_the_schema(written) -> None:
    alerts, paths = written
    assert len(paths) == len(alerts) >= 6
    assert {a.msg_type for a in alerts} == {"Alert", "Update", "Cancel"}
    schema = cap_schema()
    for path in paths:
        doc = etree.parse(str(path))
        assert schema.validate(doc), f"{path.name}: {schema.error_log.last_error}"


def test_cap_fields_follow_the_alert(written) -> None:
    alerts, paths = written
    by_id = {a.id: a for a in alerts}
    for path in paths:
        doc = etree.parse(str(path)).getroot()
        alert = by_id[doc.findtext("c:identifier", namespaces=C)]
        assert path.name == f"{alert.id}.xml"
        assert doc.findtext("c:msgType", namespaces=C) == alert.msg_type
        assert doc.findtext("c:status", namespaces=C) == "Exercise"
        assert doc.findtext("c:sent", namespaces=C).endswith("-00:00")
        refs = (doc.findtext("c:references", namespaces=C) or "").split()
        assert [r.split(",")[1] for r in refs] == list(alert.references)
        assert all(len(r.split(",")) == 3 for r in refs)
        geocode = doc.find("c:info/c:area/c:geocode", namespaces=C)
        assert geocode.findtext("c:value", namespaces=C) == alert.region_code.removesuffix("-MZ")
        polygon = doc.findtext("c:info/c:area/c:polygon", namespaces=C)
        pts = polygon.split()
        assert pts[0] == pts[-1] and len(pts) >= 4  # a closed ring of lat,lon pairs
        lat, lon = map(float, pts[0].split(","))
        assert 20 < lat < 50 and 120 < lon < 160
        assert "Natural Earth" in doc.findtext("c:note", namespaces=C)
        if alert.msg_type == "Cancel":
            assert doc.findtext("c:info/c:responseType", namespaces=C) == "AllClear"


def test_maritime_zone_alert_names_the_country(written) -> None:
    alerts, _ = written
    zone = next(a for a in alerts if a.region_code == "JPN-MZ")
    doc = etree.fromstring(cap_bytes(zone))
    value = doc.find("c:info/c:area/c:geocode", namespaces=C)
    assert value.findtext("c:valueName", namespaces=C) == "ISO3166-1-alpha-3"
    assert value.findtext("c:value", namespaces=C) == "JPN"


def test_actual_status_and_broken_documents() -> None:
    alert = Alert("A.1", "EV", "T", "JP-02", "Aomori", "JPN", "Alert", "overflight", 1.7e9, 1.7e9 + 300, "h",
                  polygon=[(40.0, 140.0), (41.0, 140.0), (41.0, 141.0)])  # fmt: skip
    doc = cap_bytes(alert, status="Actual")
    validate(doc)
    assert b"<status>Actual</status>" in doc
    assert cap_polygon(alert.polygon).split()[-1] == "40.00000,140.00000"
    with pytest.raises(InputError, match="not among the alerts"):
        cap_bytes(Alert("A.2", "EV", "T", "JP-02", "Aomori", "JPN", "Update", "overflight", 1.7e9, 1.7e9, "h",
                        references=("A.0",)))  # fmt: skip
    with pytest.raises(InputError, match="A.1"):
        validate(doc.replace(b"<status>Actual</status>", b"<status>Real</status>"))


def test_a_view_missing_earlier_messages_still_gives_valid_cap(written, tmp_path) -> None:
    alerts, _ = written
    later = [a for a in alerts if a.references]  # as if the first messages never reached this partner
    paths = write_alerts(tmp_path, later)
    for path, alert in zip(paths, later, strict=True):
        doc = etree.parse(str(path)).getroot()
        assert cap_schema().validate(doc)
        assert alert.references[0] in doc.findtext("c:note", namespaces=C)
    with pytest.raises(InputError, match="references"):
        write_alerts(tmp_path, later, strict=True)
