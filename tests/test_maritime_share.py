"""Maritime picture shared under the agreements: kinds, entitlement groups, views that leak nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshwarn.cli import main
from meshwarn.errors import InputError
from meshwarn.maritime import io
from meshwarn.maritime.views import audience, entitlement_groups, share
from meshwarn.share.agreements import load, parse


def test_shipped_agreements_cover_maritime_kinds():
    tri, dyads = load("trilateral"), load("two-dyads")
    for kind in ("ais", "surface", "vessel_tracks", "anomalies"):
        assert tri.terms("JPN", "KOR", kind) is not None
        assert dyads.terms("KOR", "USA", kind) is not None
        assert dyads.terms("JPN", "KOR", kind) is None  # no KOR-JPN channel in two dyads
    assert load("trilateral-impact-only").terms("JPN", "KOR", "vessel_tracks") is None


def test_unknown_maritime_kind_is_named():
    text = '[partners]\nKOR = "K"\nUSA = "U"\n[[agreement]]\nname = "x"\nmembers = ["KOR", "USA"]\n'
    parse(text + 'covers = [{ kind = "vessel_tracks" }]\n')
    with pytest.raises(InputError, match="vessel_trax"):
        parse(text + 'covers = [{ kind = "vessel_trax" }]\n')


# --- views: fused once per entitlement group, nothing a partner may not see -------------------------

SMALL = Path(__file__).parent / "data" / "maritime-small.toml"


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> dict:
    """The small scenario simulated once, then shared under two-dyads and trilateral (CLI)."""
    root = tmp_path_factory.mktemp("maritime")
    base = root / "sim"
    assert main(["maritime", "simulate", str(SMALL), "--out", str(base)]) == 0
    out = {"reports": io.read_deliveries(base)}
    for name in ("two-dyads", "trilateral"):
        assert main(["maritime", "run", str(base), "--agreements", name, "--out", str(root / name)]) == 0
        out[name] = {p: _view(root / name, p) for p in ("KOR", "JPN", "USA")}
    return out


def _view(directory: Path, partner: str) -> list[dict]:
    lines = (directory / "views" / f"{partner}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _visible_ids(reports, agreements_name: str, partner: str) -> set[str]:
    agreements = load(agreements_name)
    return {d.report.id for d in reports if partner in audience(d.report, agreements)}


@pytest.mark.parametrize("name", ["two-dyads", "trilateral"])
def test_no_message_depends_on_a_report_the_partner_may_not_see(small_run, name):
    agreements = load(name)
    for partner, view in small_run[name].items():
        visible = _visible_ids(small_run["reports"], name, partner)
        allowed = {partner} | {p for p in agreements.partners if agreements.terms(p, partner, "surface")}
        kinds = {m["kind"] for m in view}
        assert kinds == {"vessel_tracks", "anomalies"}, (partner, kinds)
        for m in view:
            assert m["partner"] == partner and m["subject"] == f"view.{partner}.{m['kind']}"
            assert m["provenance"] and set(m["provenance"]) <= allowed, (partner, m["provenance"])
            if m["kind"] == "anomalies":
                assert set(m["body"]["evidence"]) <= visible
                assert set(m["body"]["evidence_partners"]) <= allowed
        assert [m["seq"] for m in view] == list(range(1, len(view) + 1))
        assert [m["release"] for m in view] == sorted(m["release"] for m in view)


def test_two_dyads_keep_korea_and_japan_apart(small_run):
    views = small_run["two-dyads"]
    assert not any("JPN" in m["provenance"] for m in views["KOR"])
    assert not any("KOR" in m["provenance"] for m in views["JPN"])
    assert any({"KOR", "JPN"} <= set(m["provenance"]) for m in views["USA"])  # the US fuses both


def test_patrol_aircraft_detections_reach_only_partners_they_are_released_to(small_run):
    views = small_run["trilateral"]

    def dark_with_p1(view):
        return [
            m for m in view
            if m["body"].get("kind") == "dark_vessel" and any(e.startswith("JPN-P1-") for e in m["body"]["evidence"])
        ]  # fmt: skip

    assert dark_with_p1(views["JPN"]) and dark_with_p1(views["USA"])  # the scenario has such a vessel
    assert not dark_with_p1(views["KOR"])  # JPN-P1's label releases to JPN and USA only
    assert not any(e.startswith("JPN-P1-") for m in views["KOR"] for e in m["body"].get("evidence", ()))
    # AIS-derived tracks are shared widely: Korea's picture has Japan-received AIS vessels
    assert any("JPN" in m["provenance"] for m in views["KOR"] if m["kind"] == "vessel_tracks")


def test_entitlement_groups_fuse_once_per_distinct_audience(small_run):
    reports = small_run["reports"]
    groups = dict(entitlement_groups(reports, load("trilateral")))
    assert sorted(groups) == [("JPN",), ("KOR",), ("USA",)]  # each partner sees a different set here
    assert groups[("USA",)].all()  # everything is released to the US
    assert not groups[("KOR",)].all()
    ais = [d for d in reports if d.report.kind in ("ais", "ais_static")]  # labels release AIS to all
    assert [members for members, _ in entitlement_groups(ais, _all_share_everything())] == [
        ("JPN", "KOR", "USA")
    ]
    assert len(entitlement_groups(ais, load("two-dyads"))) == 3


def _all_share_everything():
    return parse(
        '[partners]\nKOR = "K"\nJPN = "J"\nUSA = "U"\n[[agreement]]\nname = "all"\n'
        'members = ["KOR", "JPN", "USA"]\ncovers = [{ kind = "ais" }, { kind = "ais_static" }, '
        '{ kind = "surface" }, { kind = "vessel_tracks" }, { kind = "anomalies" }]\n'
    )


def test_track_snapshots_every_interval_not_every_update(small_run):
    times = {m["time"] for m in small_run["trilateral"]["USA"] if m["kind"] == "vessel_tracks"}
    assert 10 <= len(times) <= 14  # 2 h at 600 s, plus the final state
    assert all(
        m["body"]["domain"] == "surface"
        for m in small_run["trilateral"]["USA"]
        if m["kind"] == "vessel_tracks"
    )


def test_bad_agreements_name_is_one_line_error(tmp_path, capsys):
    assert main(["maritime", "run", str(SMALL), "--agreements", "no-such", "--out", str(tmp_path)]) == 2
    assert "no-such" in capsys.readouterr().err


def test_products_go_out_at_the_combined_terms(small_run):
    # KOR-USA share vessel tracks rounded to 10 km and delayed 5 minutes; anomalies not at all.
    agreements = parse(
        '[partners]\nKOR = "K"\nUSA = "U"\n[[agreement]]\nname = "coarse"\nmembers = ["KOR", "USA"]\n'
        'covers = [{ kind = "ais" }, { kind = "ais_static" }, { kind = "surface" }, '
        '{ kind = "vessel_tracks", round_km = 10, delay_s = 300 }]\n'
    )
    writer, _ = share(small_run["reports"], {"frame": [36.0, 128.5]}, agreements)
    kor = writer.messages["KOR"]
    mixed = [m for m in kor if set(m.provenance) == {"KOR", "USA"}]
    own = [m for m in kor if m.provenance == ("KOR",) and m.kind == "vessel_tracks"]
    assert mixed and own
    assert all(m.precision == "round 10 km" and m.release == m.time + 300 for m in mixed)
    step = 10 / 111.195
    assert all(abs(m.body["lat"] / step - round(m.body["lat"] / step)) < 1e-4 for m in mixed)
    assert all(m.precision == "full" and m.release == m.time for m in own)
    # anomalies from own reports only reach their originator; any with USA evidence are withheld
    assert all(m.provenance == ("KOR",) for m in kor if m.kind == "anomalies")
    assert writer.withheld["KOR"] > 0
    assert "JPN" not in writer.messages  # JPN is not a partner of this agreement


def test_anomalies_are_stamped_when_evident_not_when_they_began(small_run):
    anomalies = [m for m in small_run["trilateral"]["USA"] if m["kind"] == "anomalies"]
    assert anomalies
    for m in anomalies:
        body = m["body"]
        assert body["time"] <= m["time"] <= body["end_time"]
        if body["kind"] == "loitering":
            assert m["time"] - body["time"] >= min(7200.0, body["end_time"] - body["time"])


def test_every_view_message_is_signed_by_the_hub(tmp_path):
    """A partner can check each message it holds against the hub's public key in keys.json."""
    import base64

    import msgspec
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from meshwarn.share.audit import view_canonical
    from meshwarn.share.messages import ViewMessage
    from meshwarn.share.signing import HUB, verify_bytes

    base, out = tmp_path / "sim", tmp_path / "shared"
    assert main(["maritime", "simulate", str(SMALL), "--out", str(base)]) == 0
    assert main(["maritime", "run", str(base), "--agreements", "trilateral", "--out", str(out)]) == 0
    raw = base64.b64decode(json.loads((out / "keys.json").read_text())[HUB])
    hub = Ed25519PublicKey.from_public_bytes(raw)
    lines = (out / "views" / "JPN.jsonl").read_bytes().splitlines()
    messages = [msgspec.json.decode(line, type=ViewMessage) for line in lines]
    assert messages and all(verify_bytes(hub, view_canonical(m), m.signature) for m in messages)
    tampered = msgspec.structs.replace(messages[0], partner="KOR")
    assert not verify_bytes(hub, view_canonical(tampered), tampered.signature)
