"""The SQLite store: WAL, append and read back, lineage copied to a successor group."""

from meshwarn.store.sqlite import Store


def test_store_round_trip_in_wal_mode(tmp_path) -> None:
    store = Store(tmp_path / "s.sqlite")
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.put_keys({"KOR": b"k" * 32, "HUB": b"h" * 32})
    store.add_report("r1", "KOR", "radar", "report.KOR.radar", 10.0, "KOR,USA", b"payload")
    seq = store.add_outgoing("USA", "view.USA.tracks", "tracks", 10.0, 10.0, "KOR", "g1", "T1", b"msg")
    store.add_quarantine(11.0, "report.ZZZ.radar", "x", "unknown originator ZZZ", b"bad")
    store.add_lineage("g1", "T1", "r1")
    store.copy_lineage("g1", "g2")
    store.close()

    again = Store(tmp_path / "s.sqlite")
    assert again.keys() == {"KOR": b"k" * 32, "HUB": b"h" * 32}
    assert list(again.reports()) == [("r1", "KOR", "report.KOR.radar", "KOR,USA", b"payload")]
    assert [row[0] for row in again.outgoing()] == [seq] and again.max_outgoing_seq() == seq
    assert [row[3] for row in again.quarantined()] == ["unknown originator ZZZ"]
    assert again.lineage("g2", "T1") == {"r1"}
    assert again.report_visibility() == {"r1": {"KOR", "USA"}}
