"""Maritime reports are node-signed, verified, quarantined and audited like missile reports."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from meshwarn.cli import main
from meshwarn.maritime import io, trust
from meshwarn.maritime.traffic import load_scenario
from meshwarn.model import AisPosition, Label, Report, from_msgpack, to_msgpack
from meshwarn.share.agreements import load
from meshwarn.share.audit import verify_dir
from meshwarn.share.signing import KeyRing, sign_report
from meshwarn.store.sqlite import Store

SMALL = Path(__file__).parent / "data" / "maritime-small.toml"
EVERY = ("KOR", "JPN", "USA")
FORGED_MMSI, GENUINE_MMSI = 999000001, 999000002


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("maritime-trust") / "sim"
    assert main(["maritime", "simulate", str(SMALL), "--out", str(base)]) == 0
    return base


@pytest.fixture(scope="module")
def clean(sim: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("maritime-trust") / "clean"
    assert main(["maritime", "run", str(sim), "--agreements", "trilateral", "--out", str(out)]) == 0
    return out


def views(directory: Path) -> dict[str, list[dict]]:
    return {
        p: [json.loads(line) for line in (directory / "views" / f"{p}.jsonl").read_text().splitlines()]
        for p in EVERY
    }


def quarantined(directory: Path) -> dict[str, str]:
    lines = (directory / "quarantine.jsonl").read_text().splitlines()
    return {e["report_id"]: e["reason"] for e in map(json.loads, lines)}


def stored_ids(directory: Path) -> set[str]:
    db = sqlite3.connect(directory / "store.sqlite")
    try:
        return {row[0] for row in db.execute("SELECT id FROM reports")}
    finally:
        db.close()


def run(sim: Path, out: Path, interfere: trust.Interfere, workers: int = 1) -> trust.Outcome:
    out.mkdir(parents=True)
    scenario = load_scenario(sim / "scenario.toml")
    deliveries = io.read_deliveries(sim)
    return trust.run_shared(
        out, deliveries, scenario, load("trilateral"), interfere=interfere, workers=workers
    )


def decode(payload: bytes) -> Report:
    return from_msgpack(payload, Report)


def fake_vessel(mmsi: int, start: float, key: Ed25519PrivateKey) -> list[trust.Sent]:
    """Ten AIS positions of a vessel nobody else reports, labelled JPN and signed with `key`."""
    label = Label("JPN", "UNCLASSIFIED", EVERY)
    out = []
    for k in range(10):
        t = start + 120.0 * k
        body = AisPosition(t, mmsi, 35.5, 131.0 + 0.004 * k, sog_knots=8.0, cog_deg=90.0)
        report = sign_report(key, Report(f"JPN-ais-fake-{mmsi}-{k}", label, t, body))
        out.append(("report.JPN.ais", to_msgpack(report), t))
    return out


def test_clean_run_is_signed_stored_and_verifies(sim: Path, clean: Path, capsys) -> None:
    capsys.readouterr()
    assert quarantined(clean) == {}
    assert stored_ids(clean) == {d.report.id for d in io.read_deliveries(sim)}
    assert verify_dir(clean) == []
    assert main(["audit", "verify", str(clean)]) == 0
    assert "intact" in capsys.readouterr().out
    keys = json.loads((clean / "keys.json").read_text())
    assert set(keys) == {*EVERY, "HUB"}
    db = sqlite3.connect(clean / "store.sqlite")
    stored = [decode(p) for (p,) in db.execute("SELECT payload FROM reports")]
    outgoing = db.execute("SELECT COUNT(*) FROM outgoing").fetchone()[0]
    db.close()
    assert {r.kind for r in stored} == {"ais", "ais_static", "surface"}
    assert all(r.signature for r in stored)  # signed by the nodes, as stored
    assert outgoing == sum(len(v) for v in views(clean).values())


def test_tampered_stored_maritime_report_is_found(clean: Path, tmp_path: Path, capsys) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(clean, copy)
    db = sqlite3.connect(copy / "store.sqlite")
    rid, payload = db.execute("SELECT id, payload FROM reports WHERE kind = 'surface' LIMIT 1").fetchone()
    report = decode(payload)
    moved = msgspec.structs.replace(report.body, lat=report.body.lat + 0.1)
    forged = to_msgpack(msgspec.structs.replace(report, body=moved))
    db.execute("UPDATE reports SET payload = ? WHERE id = ?", (forged, rid))
    db.commit()
    db.close()
    [finding] = verify_dir(copy)
    assert rid in finding.problem and "differ" in finding.problem
    capsys.readouterr()
    assert main(["audit", "verify", str(copy)]) == 1
    assert capsys.readouterr().out.startswith("TAMPERED:")


def test_tampered_stored_view_message_is_found(clean: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(clean, copy)
    db = sqlite3.connect(copy / "store.sqlite")
    seq, payload = db.execute("SELECT seq, payload FROM outgoing WHERE partner = 'KOR' LIMIT 1").fetchone()
    db.execute("UPDATE outgoing SET payload = ? WHERE seq = ?", (payload.replace(b"KOR", b"JPN", 1), seq))
    db.commit()
    db.close()
    [finding] = verify_dir(copy)
    assert f"outgoing message {seq}" in finding.problem


@pytest.mark.parametrize("workers", [1, 2])
def test_forged_and_tampered_reports_are_quarantined_and_reach_no_view(
    sim: Path, clean: Path, tmp_path: Path, monkeypatch, workers: int
) -> None:
    # An anomaly's evidence names reports: pick one that reaches views in the clean run.
    evidence = {e for m in views(clean)["USA"] if m["kind"] == "anomalies" for e in m["body"]["evidence"]}
    target = sorted(e for e in evidence if "-ais-" not in e)[0]
    monkeypatch.setattr(trust, "PARALLEL_MIN", 0)  # workers=2: the batch path, even on this small run

    def interfere(sent: list[trust.Sent], ring: KeyRing) -> list[trust.Sent]:
        out = []
        for subject, payload, arrival in sent:
            report = decode(payload)
            if report.id == target:  # moved by someone on the way, signature kept
                body = msgspec.structs.replace(report.body, lat=report.body.lat + 0.05)
                payload = to_msgpack(msgspec.structs.replace(report, body=body))
            out.append((subject, payload, arrival))
        start = sent[-1][2] - 3600.0
        extra = fake_vessel(FORGED_MMSI, start, Ed25519PrivateKey.generate())  # a key no node holds
        extra += fake_vessel(GENUINE_MMSI, start, ring.private["JPN"])  # the control: signed by JPN's node
        return sorted(out + extra, key=lambda s: s[2])

    outcome = run(sim, tmp_path / "run", interfere, workers)
    refused = quarantined(tmp_path / "run")
    assert refused[target] == "bad signature"
    assert {f"JPN-ais-fake-{FORGED_MMSI}-{k}" for k in range(10)} <= set(refused)
    assert len(refused) == 11 and len(outcome.quarantine) == 11
    assert all(r == "bad signature" for r in refused.values())
    stored = stored_ids(tmp_path / "run")
    assert target not in stored and not any(str(FORGED_MMSI) in rid for rid in stored)
    everything = [m for v in views(tmp_path / "run").values() for m in v]
    assert not any(target in m["body"].get("evidence", ()) for m in everything)
    refs = {m["ref"] for m in everything}
    assert f"V{FORGED_MMSI}" not in refs
    assert f"V{GENUINE_MMSI}" in refs  # the same vessel, properly signed, is in the picture
    assert verify_dir(tmp_path / "run") == []  # quarantined payloads are on the audit chain too
    db = sqlite3.connect(tmp_path / "run" / "store.sqlite")
    assert db.execute("SELECT COUNT(*) FROM audit WHERE event = 'quarantined'").fetchone()[0] == 11
    db.close()


def test_a_partner_may_sign_only_its_own_reports(sim: Path, tmp_path: Path) -> None:
    def interfere(sent: list[trust.Sent], ring: KeyRing) -> list[trust.Sent]:
        jpn = [(s, decode(p), a) for s, p, a in sent if s == "report.JPN.ais"]
        (s1, r1, a1), (_s2, r2, a2), (_s3, r3, a3) = jpn[10], jpn[20], jpn[30]
        kor = ring.private["KOR"]
        other = msgspec.structs.replace(r1, id="JPN-ais-x1", signature="")
        relabelled = msgspec.structs.replace(r3, label=msgspec.structs.replace(r3.label, originator="KOR"))
        extra = [
            (s1, to_msgpack(sign_report(kor, other)), a1 + 1),  # KOR signs a JPN report
            ("report.KOR.ais", to_msgpack(sign_report(kor, r2)), a2 + 1),  # ... and sends it as its own
            ("report.KOR.ais", to_msgpack(sign_report(kor, relabelled)), a3 + 1),  # claims JPN's report
        ]
        return sorted(sent + extra, key=lambda s: s[2])

    run(sim, tmp_path / "run", interfere)
    refused = quarantined(tmp_path / "run")
    assert refused["JPN-ais-x1"] == "signed with KOR's key, not JPN's"
    ids = sorted(refused)
    assert len(ids) == 3
    assert any("does not match label and kind" in refused[i] for i in ids)
    assert any(refused[i].startswith("replay of report") for i in ids)  # the id is JPN's, already accepted
    assert "JPN-ais-x1" not in stored_ids(tmp_path / "run")


def test_replays_are_refused(sim: Path, tmp_path: Path) -> None:
    picked: dict[str, str] = {}

    def interfere(sent: list[trust.Sent], ring: KeyRing) -> list[trust.Sent]:
        (s1, p1, a1), (s2, p2, a2), (s3, p3, _a3) = sent[100], sent[200], sent[300]
        r3 = decode(p3)
        late = sent[-1][2]
        again = msgspec.structs.replace(r3, sent=late, signature="")
        reused = sign_report(ring.private[r3.label.originator], again)
        picked.update(soon=decode(p1).id, stale=decode(p2).id, reused=r3.id)
        return sorted(
            [*sent, (s1, p1, a1 + 10.0), (s2, p2, a2 + 3600.0), (s3, to_msgpack(reused), late)],
            key=lambda s: s[2],
        )

    run(sim, tmp_path / "run", interfere)
    refused = quarantined(tmp_path / "run")
    assert refused[picked["soon"]] == f"replay of report {picked['soon']}"
    assert refused[picked["stale"]].startswith("stale: sent 3600.0 s before arrival")
    # a fresh, validly signed report reusing an old id: the store's memory catches what the window forgot
    assert refused[picked["reused"]] == f"replay of report {picked['reused']} (already stored)"
    assert len(refused) == 3


def test_maritime_run_does_not_replace_a_missile_exercise_store(sim: Path, tmp_path: Path, capsys) -> None:
    store = Store(tmp_path / "store.sqlite")
    store.put_meta("kept", "yes")
    store.close()
    assert main(["maritime", "run", str(sim), "--agreements", "trilateral", "--out", str(tmp_path)]) == 2
    assert "store.sqlite" in capsys.readouterr().err
    assert Store(tmp_path / "store.sqlite").meta() == {"kept": "yes"}
    assert not (tmp_path / "reports.jsonl").exists()


def test_maritime_run_leaves_a_file_that_is_not_a_store_alone(sim: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "store.sqlite").write_bytes(b"not a database, but someone's file" * 200)
    assert main(["maritime", "run", str(sim), "--agreements", "trilateral", "--out", str(tmp_path)]) == 2
    assert "not a store" in capsys.readouterr().err
    assert (tmp_path / "store.sqlite").read_bytes().startswith(b"not a database")
