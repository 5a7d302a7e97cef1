"""OASIS Common Alerting Protocol 1.2 documents, one per :class:`meshwarn.model.Alert`.

Each document carries one ``info`` with one ``area``: the polygon of the part of the
region at risk and the region's code as a geocode (``ISO3166-2`` for a prefecture or
province, ``ISO3166-1-alpha-3`` for a country or its maritime zone). References use
CAP's "sender,identifier,sent" form, so a writer needs the earlier messages of the
chain: :func:`write_alerts` resolves them among the alerts it is given.
Times are UTC written as ``-00:00`` (CAP forbids ``Z``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from lxml import etree

from meshwarn.errors import InputError
from meshwarn.geo.regions import ATTRIBUTION
from meshwarn.model import Alert

NS = "urn:oasis:names:tc:emergency:cap:1.2"
SENDER = "meshwarn@hub.meshwarn.example"
ALERTS_DIR = "alerts"
_RESPONSE = {"overflight": "Shelter", "impact": "Shelter", "maritime_zone": "Avoid"}


def cap_time(t: float) -> str:
    return datetime.fromtimestamp(round(t), UTC).strftime("%Y-%m-%dT%H:%M:%S") + "-00:00"


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _pair(parent: etree._Element, tag: str, name: str, value: str) -> None:
    el = _sub(parent, tag)
    _sub(el, "valueName", name)
    _sub(el, "value", value)


def cap_document(
    alert: Alert,
    earlier: Mapping[str, Alert] | None = None,
    *,
    sender: str = SENDER,
    status: str = "Exercise",
    strict: bool = True,
) -> etree._Element:
    """The CAP <alert> element for one Alert. ``earlier`` maps ids to the messages it references.

    A reference missing from ``earlier`` is an InputError when ``strict``; otherwise it is left
    out of <references> and named in <note> (a partner whose view lacks an earlier message)."""
    root = etree.Element(f"{{{NS}}}alert", nsmap={None: NS})
    _sub(root, "identifier", alert.id)
    _sub(root, "sender", sender)
    _sub(root, "sent", cap_time(alert.sent))
    _sub(root, "status", status)
    _sub(root, "msgType", alert.msg_type)
    _sub(root, "source", "meshwarn hub; sensors of " + "/".join(alert.provenance or ("unknown",)))
    _sub(root, "scope", "Public")
    earlier = earlier or {}
    missing = [ref for ref in alert.references if ref not in earlier]
    if missing and strict:
        raise InputError(f"alert {alert.id} references {missing[0]!r}, which is not among the alerts given")
    note = ATTRIBUTION + (" EXERCISE, EXERCISE, EXERCISE." if status == "Exercise" else "")
    if missing:
        note += " Earlier messages not available here: " + " ".join(missing) + "."
    _sub(root, "note", note)
    known = [f"{sender},{ref},{cap_time(earlier[ref].sent)}" for ref in alert.references if ref in earlier]
    if known:
        _sub(root, "references", " ".join(known))
    _sub(root, "incidents", alert.event_id)
    _info(root, alert)
    return root


def _info(root: etree._Element, alert: Alert) -> None:
    cancel = alert.msg_type == "Cancel"
    info = _sub(root, "info")
    _sub(info, "language", "en-US")
    _sub(info, "category", "Security")
    _sub(info, "event", "Ballistic missile")
    _sub(info, "responseType", "AllClear" if cancel else _RESPONSE.get(alert.reason, "Shelter"))
    _sub(info, "urgency", "Past" if cancel else "Immediate")
    _sub(info, "severity", "Minor" if cancel else "Extreme")
    _sub(info, "certainty", "Observed" if cancel else "Likely")
    _pair(info, "eventCode", "meshwarn:reason", alert.reason)
    _sub(info, "onset", cap_time(alert.expected_time))
    _sub(info, "senderName", "meshwarn allied missile warning hub")
    _sub(info, "headline", alert.headline)
    _sub(info, "description", _description(alert))
    if not cancel:
        _sub(info, "instruction", "Take shelter in a sturdy building or underground now.")
    _pair(info, "parameter", "track", alert.track_id)
    _pair(info, "parameter", "classification", alert.classification)
    _pair(info, "parameter", "attribution", ATTRIBUTION)
    area = _sub(info, "area")
    _sub(area, "areaDesc", alert.region_name)
    if len(alert.polygon) >= 4:
        _sub(area, "polygon", cap_polygon(alert.polygon))
    code = alert.region_code.removesuffix("-MZ")
    _pair(area, "geocode", "ISO3166-2" if "-" in code else "ISO3166-1-alpha-3", code)


def _description(alert: Alert) -> str:
    when = datetime.fromtimestamp(alert.expected_time, UTC).strftime("%H:%M:%S UTC")
    what = {"overflight": "overflight", "impact": "impact", "maritime_zone": "impact at sea within 200 nmi"}
    return f"{alert.headline}. Predicted {what.get(alert.reason, alert.reason)} of {alert.region_name} at {when}."


def cap_polygon(ring: list[tuple[float, float]]) -> str:
    """CAP's "lat,lon lat,lon ..." with the first point repeated at the end."""
    pts = list(ring)
    if pts[0] != pts[-1]:
        pts.append(pts[0])
    return " ".join(f"{lat:.5f},{lon:.5f}" for lat, lon in pts)


def cap_bytes(alert: Alert, earlier: Mapping[str, Alert] | None = None, **kw: Any) -> bytes:
    return etree.tostring(
        cap_document(alert, earlier, **kw), xml_declaration=True, encoding="UTF-8", pretty_print=True
    )


def write_alerts(
    directory: Path, alerts: Iterable[Alert], *, status: str = "Exercise", strict: bool = False
) -> list[Path]:
    """Write DIR/alerts/<id>.xml for every alert; returns the paths written.

    References are resolved among the alerts given; one that is not there is named in the
    document's note (or, with ``strict``, is an InputError)."""
    return write_alerts_into(Path(directory) / ALERTS_DIR, alerts, status=status, strict=strict)


def write_alerts_into(
    out_dir: Path, alerts: Iterable[Alert], *, status: str = "Exercise", strict: bool = False
) -> list[Path]:
    """Write <out_dir>/<id>.xml for every alert, as :func:`write_alerts` does."""
    alerts = list(alerts)
    by_id = {a.id: a for a in alerts}
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for alert in alerts:
        path = out_dir / f"{alert.id}.xml"
        path.write_bytes(cap_bytes(alert, by_id, status=status, strict=strict))
        paths.append(path)
    return paths


_schema: etree.XMLSchema | None = None


def cap_schema() -> etree.XMLSchema:
    """The official OASIS CAP 1.2 schema shipped in meshwarn/data."""
    global _schema
    if _schema is None:
        with resources.as_file(resources.files("meshwarn").joinpath("data", "CAP-v1.2.xsd")) as path:
            _schema = etree.XMLSchema(etree.parse(str(path)))
    return _schema


def validate(document: bytes | etree._Element) -> None:
    """Raise InputError naming the first schema violation, if any."""
    doc = etree.fromstring(document) if isinstance(document, bytes) else document
    schema = cap_schema()
    if not schema.validate(doc):
        raise InputError(f"CAP document {doc.findtext(f'{{{NS}}}identifier')}: {schema.error_log.last_error}")


def write_partner_alerts(directory: Path, *, status: str = "Exercise") -> dict[str, int]:
    """CAP files of the alerts each partner received in an exercise run (DIR/views/<P>.jsonl),
    under DIR/alerts/<P>/<id>.xml; the number written per partner."""
    from meshwarn.exercise import read_view, view_partners

    written: dict[str, int] = {}
    for partner in view_partners(directory):
        alerts = read_view(directory, partner, {"alerts": Alert})["alerts"]
        out_dir = Path(directory) / ALERTS_DIR / partner
        written[partner] = len(write_alerts_into(out_dir, alerts, status=status))
    return written
