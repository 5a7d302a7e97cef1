"""Maritime: AIS sentences decoded and fused per second on one core, and memory per 10,000 vessels.

A regional AIS feed is about 2,000 messages per second. The feed here is simulated traffic of the
shipped `maritime-east-asia` scenario scaled to 10,000 vessels, each reporting every 10 s for a few
minutes, encoded as real NMEA sentences (pyais) with tag-block timestamps. Measured separately and
together: decoding (pyais + checks + per-MMSI merge), fusing (columns + the vectorised surface
tracker), and one sensor look of detections associated against all 10,000 tracks. Memory is the
tracemalloc growth of the decoder's vessel table and of the tracker's state for 10,000 vessels.
Trust: 20,000 of the decoded messages as reports of KOR, JPN and USA, signed by their nodes and
admitted by the hub side of `maritime run` (every signature verified, guard checks, store, audit),
in this process and on worker processes. Writes benchmarks/results/maritime.json.

    .venv/bin/python benchmarks/maritime.py [--vessels 10000] [--minutes 3]
    .venv/bin/python benchmarks/maritime.py --trust-only --workers 1,2,4,8   # prints, writes nothing
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine import describe  # noqa: E402
from meshwarn.maritime import trust  # noqa: E402
from meshwarn.maritime.ais import AisDecoder  # noqa: E402
from meshwarn.maritime.frame import LocalFrame  # noqa: E402
from meshwarn.maritime.surface import SurfaceTracker, columns_of, run  # noqa: E402
from meshwarn.maritime.traffic import build_world, encode_nmea, load_scenario, observe  # noqa: E402
from meshwarn.model import AisPosition, AisStatic, Delivery, Label, Report  # noqa: E402
from meshwarn.share.agreements import load  # noqa: E402
from meshwarn.share.signing import KeyRing, PublicKeys  # noqa: E402
from meshwarn.store.sqlite import Store  # noqa: E402

SCENARIO = Path(__file__).resolve().parents[1] / "meshwarn" / "scenarios" / "maritime-east-asia.toml"
RESULT = Path(__file__).parent / "results" / "maritime.json"


def feed(vessels: int, minutes: float) -> tuple[list[str], dict]:
    scenario = load_scenario(SCENARIO)
    scenario.update(duration_h=minutes / 60.0, step_s=10, sensors=[], rendezvous=[])
    merchants = int(vessels * 0.6)
    scenario["traffic"].update(merchant=merchants, fishing=vessels - merchants - 8, patrol=8,
                               ais_period_s=[10, 10], ais_loss=0.0, dark=0, gaps=0, spoofers=0)  # fmt: skip
    rng = np.random.default_rng(5)
    world = build_world(scenario, rng)
    observed = observe(world, scenario, rng)
    lines: list[str] = []
    statics: dict[int, AisStatic] = {}
    for d in observed.deliveries:
        if isinstance(d.report.body, AisStatic):
            statics[d.report.body.mmsi] = d.report.body
    for d in observed.deliveries:
        body = d.report.body
        if isinstance(body, AisPosition):
            lines.extend(encode_nmea(body, statics.pop(body.mmsi, None)))
    return lines, scenario


def decode(lines: list[str]) -> tuple[float, AisDecoder, list]:
    decoder = AisDecoder(source="bench")
    start = time.perf_counter()
    out = decoder.feed_many(lines)
    return time.perf_counter() - start, decoder, out


def fuse(messages: list, frame: LocalFrame) -> tuple[float, SurfaceTracker]:
    label = Label("KOR", "UNCLASSIFIED", ("KOR", "JPN", "USA"))
    start = time.perf_counter()
    deliveries = [Delivery(m.time, Report(f"r{k}", label, m.time, m)) for k, m in enumerate(messages)]
    cols = columns_of(deliveries, frame)
    tracker = SurfaceTracker(frame)
    for _ in run(cols, tracker):
        pass
    return time.perf_counter() - start, tracker


def scan(tracker: SurfaceTracker, detections: int, rng) -> float:
    """One sensor look of `detections` detections near tracked vessels, against every track."""
    live = np.flatnonzero(tracker.alive[: tracker.n])
    pick = rng.choice(live, detections, replace=False)
    t = float(tracker.t[: tracker.n].max()) + 60.0
    x = tracker.x[pick, 0] + tracker.x[pick, 2] * 60 + rng.normal(0, 150, detections)
    y = tracker.x[pick, 1] + tracker.x[pick, 3] * 60 + rng.normal(0, 150, detections)
    sigma = np.full(detections, 150.0)
    start = time.perf_counter()
    tracker.update_scan(t, x, y, sigma, np.arange(detections), 1, 1)
    return time.perf_counter() - start


def signed_reports(messages: list, count: int) -> tuple[KeyRing, list[trust.Sent], list[Delivery]]:
    partners = ("KOR", "JPN", "USA")
    deliveries = []
    for k, m in enumerate(messages[:count]):
        origin = partners[k % 3]
        deliveries.append(
            Delivery(m.time, Report(f"{origin}-{k}", Label(origin, "UNCLASSIFIED", partners), m.time, m))
        )
    ring = KeyRing.generate(partners)
    return ring, trust.sign_at_nodes(deliveries, ring, workers=1), deliveries


def admit_once(sent: list[trust.Sent], keys: PublicKeys, workers: int) -> float:
    """Seconds for the hub side to verify, check, store and audit every report (fresh store)."""
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "store.sqlite")
        start = time.perf_counter()
        ledger = trust.Ledger.open(store, keys)
        accepted = trust.admit(sent, load("trilateral"), keys, ledger, workers)
        store.close()
        seconds = time.perf_counter() - start
    assert len(accepted) == len(sent), "a genuine report was refused"
    return seconds


def trust_figures(messages: list, count: int, workers: list[int], repeat: int) -> dict:
    """Reports per second: node signing, Ed25519 checks alone, and hub admission on each worker count."""
    ring, sent, deliveries = signed_reports(messages, count)
    keys = ring.public()
    payloads = [p for _, p, _ in sent]
    sign_s = statistics.median(
        _timed(lambda: trust.sign_at_nodes(deliveries, ring, workers=1)) for _ in range(repeat)
    )
    verify_s = statistics.median(
        _timed(lambda: trust.verify_signatures(keys, payloads)) for _ in range(repeat)
    )
    admit_s = {w: statistics.median(admit_once(sent, keys, w) for _ in range(repeat)) for w in workers}
    return {
        "reports": len(sent),
        "node_sign_reports_per_s": round(len(sent) / sign_s),
        "ed25519_verify_per_s": round(len(sent) / verify_s),
        "hub_admit_reports_per_s_by_workers": {str(w): round(len(sent) / s) for w, s in admit_s.items()},
        "verification_share_of_admit_1_worker": round(verify_s / admit_s[workers[0]], 2),
        "default_workers_here": trust.default_workers(),
    }


def _timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def memory(lines: list[str], frame: LocalFrame, vessels: int) -> dict[str, float]:
    """tracemalloc growth: decoder vessel table, and tracker state (arrays, index) without the update log."""
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    decoder = AisDecoder()
    messages = decoder.feed_many(lines[: 3 * vessels])
    latest = list({m.mmsi: m for m in messages if isinstance(m, AisPosition)}.values())
    del messages
    decoder.quarantined.clear()
    table = tracemalloc.get_traced_memory()[0] - base  # the per-MMSI table (plus `latest`, a small list)
    base = tracemalloc.get_traced_memory()[0]
    tracker = SurfaceTracker(frame, capacity=16)
    mmsi = np.array([m.mmsi for m in latest])
    x, y = frame.to_xy(np.array([m.lat for m in latest]), np.array([m.lon for m in latest]))
    zeros = np.zeros(len(latest))
    tracker.update_ais(zeros, mmsi, x, y, zeros, zeros, np.arange(len(latest)), np.ones(len(latest), int), 0)
    tracker._log.clear()
    state = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    per = 10_000 / max(len(decoder.vessels), 1)
    return {
        "vessels_measured": len(decoder.vessels),
        "decoder_vessel_table_mb_per_10k": round(table * per / 1e6, 2),
        "tracker_state_mb_per_10k": round(state * 10_000 / max(len(latest), 1) / 1e6, 2),
        "tracker_capacity_rows": int(len(tracker.t)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vessels", type=int, default=10_000)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--trust-reports", type=int, default=20_000)
    parser.add_argument("--workers", default="1,2", help="worker counts for hub admission, e.g. 1,2,4,8")
    parser.add_argument("--trust-only", action="store_true", help="only the trust figures, printed")
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    t0 = time.perf_counter()
    lines, scenario = feed(args.vessels, args.minutes)
    print(f"feed: {len(lines)} sentences for {args.vessels} vessels in {time.perf_counter() - t0:.1f} s")
    if args.trust_only:
        _, _, messages = decode(lines)
        positions = [m for m in messages if isinstance(m, AisPosition)]
        print(json.dumps(trust_figures(positions, args.trust_reports, workers, args.repeat), indent=2))
        return
    frame = LocalFrame(*scenario["frame"])
    decode_s, fuse_s = [], []
    for _ in range(args.repeat):
        seconds, decoder, messages = decode(lines)
        decode_s.append(seconds)
        positions = [m for m in messages if isinstance(m, AisPosition | AisStatic)]
        seconds, tracker = fuse(positions, frame)
        fuse_s.append(seconds)
    n_sent, n_msg = len(lines), len(positions)
    dec, fus = statistics.median(decode_s), statistics.median(fuse_s)
    tracks = int(tracker.alive[: tracker.n].sum())
    rng = np.random.default_rng(1)
    scan_s = statistics.median(scan(tracker, 500, rng) for _ in range(5))
    result = {
        "benchmark": "maritime",
        "machine": describe(),
        "vessels": args.vessels,
        "sentences": n_sent,
        "messages": n_msg,
        "tracks": tracks,
        "decode_sentences_per_s": round(n_sent / dec),
        "fuse_messages_per_s": round(n_msg / fus),
        "decode_and_fuse_messages_per_s": round(n_msg / (dec + fus)),
        "headroom_over_2000_msg_per_s": round(n_msg / (dec + fus) / 2000.0, 1),
        "scan_500_detections_vs_tracks_ms": round(scan_s * 1e3, 1),
        "repeat": args.repeat,
        "memory": memory(lines, frame, args.vessels),
        "trust": trust_figures(
            [m for m in positions if isinstance(m, AisPosition)], args.trust_reports, workers, args.repeat
        ),
    }
    RESULT.parent.mkdir(exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
