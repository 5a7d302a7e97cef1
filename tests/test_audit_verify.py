"""The audit chain and signatures: an intact run verifies; any edit is found and named."""

import sqlite3

import pytest

from meshwarn.cli import main
from meshwarn.share.agreements import load
from meshwarn.share.audit import verify_dir
from meshwarn.share.signing import KeyRing
from meshwarn.share.testing import radar_report, run_hub, signed
from meshwarn.store.sqlite import Store

EVERY = ("KOR", "JPN", "USA")


@pytest.fixture
def exercise_dir(tmp_path):
    ring = KeyRing.generate(EVERY)
    reports = [radar_report(f"r{i}", EVERY[i % 3], EVERY, 1000.0 + i) for i in range(6)]
    items = [(*signed(ring, r), r.sent + 0.5) for r in reports]
    store = Store(tmp_path / "store.sqlite")
    run_hub(load("two-dyads"), ring, items, store)
    store.close()
    return tmp_path


def edit(directory, sql: str, *args) -> None:
    db = sqlite3.connect(directory / "store.sqlite")
    db.execute(sql, args)
    db.commit()
    db.close()


def test_intact_run_verifies(exercise_dir, capsys) -> None:
    assert verify_dir(exercise_dir) == []
    assert main(["audit", "verify", str(exercise_dir)]) == 0
    assert "intact" in capsys.readouterr().out


def test_edited_audit_entry_is_named(exercise_dir, capsys) -> None:
    edit(exercise_dir, "UPDATE audit SET partner = 'KOR' WHERE seq = 7")
    [first, *_] = verify_dir(exercise_dir)
    assert first.entry == 7 and "edited" in first.problem
    assert main(["audit", "verify", str(exercise_dir)]) == 1
    assert capsys.readouterr().out.startswith("TAMPERED: audit entry 7: entry edited")


def test_rehashed_entry_still_breaks_the_chain(exercise_dir) -> None:
    # A forger who recomputes the edited entry's own hash breaks the link to the next one.
    from meshwarn.share.audit import entry_hash

    db = sqlite3.connect(exercise_dir / "store.sqlite")
    seq, time, partner, event, ref, digest, prev = db.execute(
        "SELECT seq, time, partner, event, ref, digest, prev FROM audit WHERE seq = 4"
    ).fetchone()
    db.execute(
        "UPDATE audit SET ref = 'x', hash = ? WHERE seq = 4",
        (entry_hash(prev, time, partner, event, "x", digest),),
    )
    db.commit()
    db.close()
    assert verify_dir(exercise_dir)[0].entry == 5


def test_deleted_entry_breaks_the_chain(exercise_dir) -> None:
    edit(exercise_dir, "DELETE FROM audit WHERE seq = 3")
    assert verify_dir(exercise_dir)[0].entry == 4


def test_edited_report_and_message_are_found(exercise_dir) -> None:
    db = sqlite3.connect(exercise_dir / "store.sqlite")
    payload = db.execute("SELECT payload FROM reports WHERE id = 'r2'").fetchone()[0]
    accepted = db.execute("SELECT seq FROM audit WHERE event = 'accepted' AND ref = 'r2'").fetchone()[0]
    db.close()
    edit(
        exercise_dir, "UPDATE reports SET payload = ? WHERE id = 'r2'", payload.replace(b"USA-R1", b"USA-R2")
    )
    [finding] = verify_dir(exercise_dir)
    assert finding.entry == accepted and "r2" in finding.problem

    out = (
        sqlite3.connect(exercise_dir / "store.sqlite")
        .execute("SELECT seq, payload FROM outgoing LIMIT 1")
        .fetchone()
    )
    edit(exercise_dir, "UPDATE outgoing SET payload = ? WHERE seq = ?", out[1][:-1] + b"A", out[0])
    assert any(f"outgoing message {out[0]}" in f.problem for f in verify_dir(exercise_dir))


def test_swapped_public_key_is_found(exercise_dir) -> None:
    other = KeyRing.generate(("KOR",)).public().raw()["KOR"]
    edit(exercise_dir, "UPDATE keys SET public_key = ? WHERE name = 'KOR'", other)
    findings = verify_dir(exercise_dir)
    assert findings[0].entry == 1 and "public keys" in findings[0].problem


def test_verify_needs_a_store(tmp_path) -> None:
    assert main(["audit", "verify", str(tmp_path)]) == 2


def test_edited_quarantine_is_found(tmp_path) -> None:
    ring = KeyRing.generate(EVERY)
    good = signed(ring, radar_report("g", "KOR", EVERY, 1000.0))
    store = Store(tmp_path / "store.sqlite")
    run_hub(load("trilateral"), ring, [(*good, 1000.5), ("report.KOR.radar", b"\x00junk", 1001.0)], store)
    store.close()
    assert verify_dir(tmp_path) == []
    edit(tmp_path, "UPDATE quarantine SET payload = ? WHERE seq = 1", b"\x00other")
    assert "quarantined payload 1" in verify_dir(tmp_path)[0].problem


def test_a_corrupt_public_key_is_a_finding_not_a_crash(exercise_dir) -> None:
    edit(exercise_dir, "UPDATE keys SET public_key = ? WHERE name = 'KOR'", b"short")
    findings = verify_dir(exercise_dir)
    assert any("not a valid Ed25519 key" in f.problem for f in findings)
    assert main(["audit", "verify", str(exercise_dir)]) == 1
