"""The hub's SQLite store (WAL): keys, accepted reports, outgoing messages, quarantine, audit chain.

Every table is append-only in use. Payloads are the exact bytes that crossed the
bus (MessagePack), so signatures can be re-checked later. ``lineage`` records
which accepted reports fed which track of which entitlement group, so anyone
can check that a partner's view depends only on reports it may see.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (name TEXT PRIMARY KEY, public_key BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
    seq INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, origin TEXT NOT NULL, kind TEXT NOT NULL,
    subject TEXT NOT NULL, arrival REAL NOT NULL, visible_to TEXT NOT NULL, payload BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS outgoing (
    seq INTEGER PRIMARY KEY, partner TEXT NOT NULL, subject TEXT NOT NULL, kind TEXT NOT NULL,
    time REAL NOT NULL, release REAL NOT NULL, provenance TEXT NOT NULL, grp TEXT NOT NULL,
    ref TEXT NOT NULL, payload BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS quarantine (
    seq INTEGER PRIMARY KEY, arrival REAL NOT NULL, subject TEXT NOT NULL, report_id TEXT NOT NULL,
    reason TEXT NOT NULL, payload BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS lineage (
    grp TEXT NOT NULL, track_id TEXT NOT NULL, report_id TEXT NOT NULL,
    PRIMARY KEY (grp, track_id, report_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS groups (gid TEXT PRIMARY KEY, members TEXT NOT NULL, parent TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, time REAL NOT NULL, partner TEXT NOT NULL, event TEXT NOT NULL,
    ref TEXT NOT NULL, digest TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL);
"""


class Store:
    """A thin, typed face on one SQLite file; commits are batched (``commit`` or ``close``)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def commit(self) -> None:
        self.db.commit()

    def close(self) -> None:
        self.db.commit()
        self.db.close()

    # --- writing ---

    def put_keys(self, raw: dict[str, bytes]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO keys VALUES (?, ?)", sorted(raw.items()))

    def put_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def add_report(
        self,
        report_id: str,
        origin: str,
        kind: str,
        subject: str,
        arrival: float,
        visible_to: str,
        payload: bytes,
    ) -> int:
        cur = self.db.execute(
            "INSERT INTO reports (id, origin, kind, subject, arrival, visible_to, payload) VALUES (?,?,?,?,?,?,?)",
            (report_id, origin, kind, subject, arrival, visible_to, payload),
        )
        return int(cur.lastrowid or 0)

    def add_outgoing(
        self,
        partner: str,
        subject: str,
        kind: str,
        time: float,
        release: float,
        provenance: str,
        grp: str,
        ref: str,
        payload: bytes,
    ) -> int:
        cur = self.db.execute(
            "INSERT INTO outgoing (partner, subject, kind, time, release, provenance, grp, ref, payload) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            (partner, subject, kind, time, release, provenance, grp, ref, payload),
        )
        return int(cur.lastrowid or 0)

    def add_quarantine(
        self, arrival: float, subject: str, report_id: str, reason: str, payload: bytes
    ) -> int:
        cur = self.db.execute(
            "INSERT INTO quarantine (arrival, subject, report_id, reason, payload) VALUES (?,?,?,?,?)",
            (arrival, subject, report_id, reason, payload),
        )
        return int(cur.lastrowid or 0)

    def add_lineage(self, grp: str, track_id: str, report_id: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO lineage VALUES (?,?,?)", (grp, track_id, report_id))

    def add_group(self, gid: str, members: str, parent: str) -> None:
        self.db.execute("INSERT INTO groups VALUES (?,?,?)", (gid, members, parent))

    def copy_lineage(self, source: str, target: str) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO lineage SELECT ?, track_id, report_id FROM lineage WHERE grp=?",
            (target, source),
        )

    def add_audit(self, row: tuple[float, str, str, str, str, str, str]) -> int:
        cur = self.db.execute(
            "INSERT INTO audit (time, partner, event, ref, digest, prev, hash) VALUES (?,?,?,?,?,?,?)", row
        )
        return int(cur.lastrowid or 0)

    # --- reading ---

    def keys(self) -> dict[str, bytes]:
        return {name: bytes(key) for name, key in self.db.execute("SELECT name, public_key FROM keys")}

    def meta(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM meta"))

    def max_outgoing_seq(self) -> int:
        return int(self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM outgoing").fetchone()[0])

    def groups(self) -> dict[str, set[str]]:
        return {
            gid: set(members.split(","))
            for gid, members in self.db.execute("SELECT gid, members FROM groups")
        }

    def last_audit_hash(self) -> str | None:
        row = self.db.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def audit(self) -> Iterator[tuple[int, float, str, str, str, str, str, str]]:
        yield from self.db.execute(
            "SELECT seq, time, partner, event, ref, digest, prev, hash FROM audit ORDER BY seq"
        )

    def reports(self) -> Iterator[tuple[str, str, str, str, bytes]]:
        """(id, origin, subject, visible_to, payload) of every accepted report, in arrival order."""
        yield from self.db.execute(
            "SELECT id, origin, subject, visible_to, payload FROM reports ORDER BY seq"
        )

    def outgoing(self) -> Iterator[tuple[int, str, str, str, str, str, bytes]]:
        """(seq, partner, kind, provenance, grp, ref, payload) of every outgoing message."""
        yield from self.db.execute(
            "SELECT seq, partner, kind, provenance, grp, ref, payload FROM outgoing ORDER BY seq"
        )

    def quarantined(self) -> Iterator[tuple[float, str, str, str]]:
        yield from self.db.execute("SELECT arrival, subject, report_id, reason FROM quarantine ORDER BY seq")

    def lineage(self, grp: str, track_id: str) -> set[str]:
        rows = self.db.execute("SELECT report_id FROM lineage WHERE grp=? AND track_id=?", (grp, track_id))
        return {row[0] for row in rows}

    def report_visibility(self) -> dict[str, set[str]]:
        return {
            rid: set(vis.split(",")) for rid, vis in self.db.execute("SELECT id, visible_to FROM reports")
        }


SQLITE_HEADER = b"SQLite format 3\x00"


def open_read_only(path: Path, what: str = "a meshwarn store") -> sqlite3.Connection:
    """A read-only connection to a file that may be someone else's: nothing is written to it.

    Opening it as a Store would add the store's tables to any SQLite file, so callers that must first
    decide whether it is a store look through this. Not an SQLite file: InputError naming it."""
    from meshwarn.errors import InputError

    if not path.is_file():
        raise InputError(f"{path}: not a file ({what} is one SQLite file)")
    with path.open("rb") as file:  # unreadable: the CLI names the file
        header = file.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise InputError(f"{path}: not {what} (not an SQLite database)")
    # immutable: a read-only look at a WAL-mode file would still leave -wal and -shm files beside
    # it; but a store with a -wal file of its own (not checkpointed) must be read with that file.
    wal = Path(f"{path}-wal").exists()
    return sqlite3.connect(f"{path.resolve().as_uri()}?{'mode=ro' if wal else 'immutable=1'}", uri=True)
