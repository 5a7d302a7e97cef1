"""Fail closed: tampered, replayed, mis-signed, stale, unlabelled or foreign reports are quarantined
with a reason, never passed on, and everything else is still delivered."""

import msgspec
import pytest

from meshwarn.model import Report, from_msgpack, to_msgpack
from meshwarn.share.agreements import load
from meshwarn.share.faults import flip_byte, unknown_originator, wrong_key
from meshwarn.share.signing import KeyRing, sign_report
from meshwarn.share.testing import ToyTracker, radar_report, run_hub, signed
from meshwarn.store.sqlite import Store

EVERYONE = ("KOR", "JPN", "USA")


def genuine(ring: KeyRing, n: int = 9) -> list[tuple[str, bytes, float]]:
    origins = ["KOR", "JPN", "USA"]
    items = []
    for i in range(n):
        report = radar_report(f"r{i}", origins[i % 3], EVERYONE, 1000.0 + i)
        items.append((*signed(ring, report), 1000.5 + i))
    return items


def bad_signature_payload(ring: KeyRing, items) -> tuple[str, bytes]:
    subject, payload, _ = items[0]
    report = from_msgpack(payload, Report)
    moved = msgspec.structs.replace(report, body=msgspec.structs.replace(report.body, range_m=999_000.0))
    return subject, to_msgpack(moved)  # the originator's signature over the old content


def strip_label_field(payload: bytes) -> bytes:
    data = msgspec.msgpack.decode(payload)
    del data["label"]["releasable_to"]
    return msgspec.msgpack.encode(data)


CASES = {
    "flipped byte": (lambda ring, items: (items[0][0], flip_byte(items[0][1])), "undecodable|bad signature"),
    "flipped signature byte": (
        lambda ring, items: (items[1][0], flip_byte(items[1][1], len(items[1][1]) - 3)),
        "bad signature",
    ),
    "edited content": (bad_signature_payload, "bad signature"),
    "replay": (lambda ring, items: (items[2][0], items[2][1]), "replay of report r2"),
    "wrong key": (
        lambda ring, items: (items[0][0], wrong_key(items[0][1], ring)),
        "signed with .*'s key, not KOR's",
    ),
    "unknown originator": (lambda ring, items: unknown_originator(items[1][1]), "unknown originator ZZZ"),
    "unsigned": (
        lambda ring, items: signed_without(items[0][1]),
        "unsigned report",
    ),
    "incomplete label": (
        lambda ring, items: (items[0][0], strip_label_field(items[0][1])),
        "incomplete report.*releasable_to",
    ),
    "wrong subject": (lambda ring, items: ("report.JPN.radar", items[0][1]), "does not match"),
    "unknown recipient": (
        lambda ring, items: relabelled(ring, items[0][1], ("KOR", "PRK")),
        "releases to unknown partner PRK",
    ),
}


def signed_without(payload: bytes) -> tuple[str, bytes]:
    report = msgspec.structs.replace(from_msgpack(payload, Report), id="fresh", signature="")
    return "report.KOR.radar", to_msgpack(report)


def relabelled(ring: KeyRing, payload: bytes, releasable: tuple[str, ...]) -> tuple[str, bytes]:
    report = from_msgpack(payload, Report)
    label = msgspec.structs.replace(report.label, releasable_to=releasable)
    report = msgspec.structs.replace(report, id="relabelled", label=label)
    return "report.KOR.radar", to_msgpack(sign_report(ring.private["KOR"], report))


@pytest.mark.parametrize("case", list(CASES))
def test_tampered_report_is_quarantined_and_the_rest_delivered(case: str, tmp_path) -> None:
    agreements = load("trilateral")
    ring = KeyRing.generate(EVERYONE)
    items = genuine(ring)
    make, reason = CASES[case]
    subject, payload = make(ring, items)
    fed = items[:5] + [(subject, payload, 1006.0)] + items[5:]
    store = Store(tmp_path / "s.sqlite")
    result = run_hub(agreements, ring, fed, store)

    [entry] = result.hub.quarantine
    assert entry.subject == subject
    assert msgspec.json.decode(msgspec.json.encode(entry))["reason"] == entry.reason
    import re

    assert re.search(reason, entry.reason), entry.reason
    assert [row[3] for row in store.quarantined()] == [entry.reason]
    # Every genuine report was accepted and fused into every partner's picture.
    assert sum(c["accepted"] for c in result.hub.counts.values()) == len(items)
    assert all(c["fused"] == len(items) for c in result.hub.counts.values())
    # Nothing from the quarantined payload reached anyone: no view message mentions it.
    accepted_ids = {rid for rid, *_ in store.reports()}
    assert accepted_ids == {f"r{i}" for i in range(len(items))}
    for messages in result.views.values():
        assert messages and all(m.ref in {"T1"} or m.ref in accepted_ids for m in messages)


def test_stale_and_future_reports_are_refused(tmp_path) -> None:
    agreements = load("two-dyads")  # freshness window 60 s
    ring = KeyRing.generate(EVERYONE)
    old = signed(ring, radar_report("old", "KOR", EVERYONE, 100.0))
    early = signed(ring, radar_report("early", "KOR", EVERYONE, 300.0))
    ok = signed(ring, radar_report("ok", "KOR", EVERYONE, 195.0))
    result = run_hub(agreements, ring, [(*old, 200.0), (*early, 200.0), (*ok, 200.0)], Store(tmp_path / "s"))
    reasons = {q.report_id: q.reason for q in result.hub.quarantine}
    assert reasons.keys() == {"old", "early"}
    assert reasons["old"].startswith("stale: sent 100.0 s before arrival")
    assert "after its arrival" in reasons["early"]
    assert result.hub.counts["KOR"]["accepted"] == 1


def test_originator_is_told_of_acceptance_and_quarantine(tmp_path) -> None:
    ring = KeyRing.generate(EVERYONE)
    items = genuine(ring, 3)
    bad = (items[0][0], wrong_key(items[0][1], ring), 1010.0)
    result = run_hub(load("trilateral"), ring, [*items, bad], Store(tmp_path / "s"))
    kor = result.receipts["KOR"]
    assert [r["event"] for r in kor if r["event"] != "delivered"] == ["accepted", "quarantined"]
    assert kor[-1]["reason"].startswith("signed with")
    assert all(len(r["audit_head"]) == 64 for r in kor)


class BrittleTracker(ToyTracker):
    def process(self, report, arrival):
        if report.id == "r4":
            raise RuntimeError("tracker bug")
        return super().process(report, arrival)


def test_a_tracker_fault_is_logged_and_the_hub_goes_on(tmp_path) -> None:
    ring = KeyRing.generate(EVERYONE)
    store = Store(tmp_path / "s.sqlite")
    result = run_hub(load("trilateral"), ring, genuine(ring), store, tracker=BrittleTracker)
    events = [row[3:5] for row in store.audit() if row[3] == "fuse_failed"]
    assert len(events) == 1 and events[0][1].endswith(":r4")
    assert all(c["messages"] > 0 for c in result.hub.counts.values())
    assert store.lineage(result.hub.groups[0].gid, "T1") == {f"r{i}" for i in range(9)} - {"r4"}


def test_an_id_reused_after_the_replay_window_is_still_refused(tmp_path) -> None:
    ring = KeyRing.generate(EVERYONE)
    first = signed(ring, radar_report("same", "KOR", EVERYONE, 1000.0))
    later = signed(ring, radar_report("later", "JPN", EVERYONE, 4000.0))  # moves the replay memory on
    again = signed(ring, radar_report("same", "KOR", EVERYONE, 5000.0))  # freshly signed, same id
    items = [(*first, 1000.5), (*later, 4000.5), (*again, 5000.5)]
    result = run_hub(load("trilateral"), ring, items, Store(tmp_path / "s"))
    [entry] = result.hub.quarantine
    assert entry.reason == "replay of report same (already stored)"
    assert result.hub.counts["KOR"]["accepted"] == 1


class UncopyableTracker(ToyTracker):
    def __deepcopy__(self, memo):
        raise TypeError("cannot copy me")


@pytest.mark.parametrize("keep", [True, False])
def test_a_tracker_that_cannot_be_copied_is_rebuilt_from_history(keep: bool, tmp_path) -> None:
    ring = KeyRing.generate(EVERYONE)
    early = [radar_report(f"e{i}", "USA", EVERYONE, 1000.0 + i) for i in range(3)]
    split = radar_report("only-kor-usa", "KOR", ("KOR", "USA"), 1004.0)
    items = [(*signed(ring, r), r.sent + 0.5) for r in [*early, split]]
    store = Store(tmp_path / "s")
    result = run_hub(load("trilateral"), ring, items, store, tracker=UncopyableTracker, keep_history=keep)
    kor_usa = result.hub.group_of("USA")
    assert kor_usa.members == {"KOR", "USA"} and result.hub.group_of("JPN").members == {"JPN"}
    _time, count, _origins = kor_usa.tracker.state["T1"]
    assert count == (4 if keep else 1)  # with history, the copy carries on; without, it starts afresh
