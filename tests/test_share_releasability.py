"""Releasability-aware fusion, as properties over random partners, labels and agreements:
no message in any view depends on a report not releasable to that partner."""

from itertools import combinations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshwarn.model import Alert, Track
from meshwarn.share.agreements import Agreements, load, parse
from meshwarn.share.hub import Group
from meshwarn.share.signing import KeyRing
from meshwarn.share.testing import ToyTracker, radar_report, run_hub, signed, unit_report
from meshwarn.store.sqlite import Store

POOL = ("KOR", "JPN", "USA", "AUS", "GBR")


@st.composite
def worlds(draw):
    partners = draw(st.lists(st.sampled_from(POOL), min_size=2, max_size=4, unique=True))
    pairs = [set(c) for n in range(2, len(partners) + 1) for c in combinations(partners, n)]
    chosen = draw(st.lists(st.sampled_from(pairs), max_size=4))
    # Terms per kind are global, so that agreements never contradict each other.
    unit_km = draw(st.sampled_from([0, 5, 10]))
    delay = draw(st.sampled_from([0, 30]))
    impact_only = draw(st.booleans())
    lines = ["[partners]", *(f'{p} = "{p}"' for p in partners)]
    for index, members in enumerate(chosen):
        kinds = draw(st.sets(st.sampled_from(["tracks", "alerts", "radar", "unit"]), min_size=1))
        covers = []
        for kind in sorted(kinds):
            terms = {
                "tracks": f", impact_only = {str(impact_only).lower()}, delay_s = {delay}",
                "unit": f", round_km = {unit_km}",
            }.get(kind, "")
            covers.append(f'{{ kind = "{kind}"{terms} }}')
        lines += [
            "[[agreement]]",
            f'name = "a{index}"',
            f"members = {sorted(members)!r}".replace("'", '"'),
            f"covers = [{', '.join(covers)}]",
        ]
    agreements = parse("\n".join(lines) + "\n", "random.toml")
    reports = []
    for i in range(draw(st.integers(1, 25))):
        origin = draw(st.sampled_from(partners))
        releasable = tuple(draw(st.sets(st.sampled_from(partners))) | {origin})
        t = 1000.0 + 2.0 * i
        if draw(st.integers(0, 4)) == 0:
            reports.append(unit_report(f"r{i}", origin, releasable, t))
        else:
            rng = draw(st.sampled_from([50_000.0, 150_000.0, 250_000.0]))
            cls = draw(st.sampled_from(["UNCLASSIFIED", "CONFIDENTIAL", "SECRET"]))
            reports.append(radar_report(f"r{i}", origin, releasable, t, rng, cls))
    return agreements, reports


def may_see(agreements: Agreements, report, partner: str) -> bool:
    """Written out again, independently of the guard: the label AND an agreement covering fused tracks."""
    origin = report.label.originator
    if partner == origin:
        return True
    return partner in report.label.releasable_to and agreements.terms(origin, partner, "tracks") is not None


def alert_on_confirmed(group: Group, tracks: list[Track], now: float) -> list[Alert]:
    return [
        Alert(
            f"A-{group.gid}-{t.id}",
            f"E-{t.id}",
            t.id,
            "R1",
            "Region",
            "JPN",
            "Alert",
            "impact",
            now,
            now + 60,
            "Missile",
        )
        for t in tracks
        if t.status == "confirmed"
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_no_view_depends_on_a_report_its_partner_may_not_see(world) -> None:
    agreements, reports = world
    ring = KeyRing.generate(tuple(agreements.partners))
    items = [(*signed(ring, r), r.sent + 0.5) for r in reports]
    store = Store(":memory:")
    result = run_hub(agreements, ring, items, store, warn=alert_on_confirmed)
    by_id = {r.id: r for r in reports}
    visible = {p: {r.id for r in reports if may_see(agreements, r, p)} for p in agreements.partners}
    groups = store.groups()

    last = {}
    for partner, messages in result.views.items():
        for m in messages:
            assert m.partner == partner and m.subject == f"view.{partner}.{m.kind}"
            assert m.provenance, "every message names its provenance"
            if m.kind in ("tracks", "impacts", "alerts"):
                assert partner in groups[m.group]
                track_id = m.body["track_id"] if m.kind != "tracks" else m.body["id"]
                contributors = store.lineage(m.group, track_id)
                # The lineage only ever grows, so its final state bounds every message made from it.
                assert contributors <= visible[partner], (partner, contributors - visible[partner])
                if m.kind != "alerts":
                    last[(partner, m.group, track_id)] = (m, contributors)
                product = "alerts" if m.kind == "alerts" else "tracks"
                for origin in m.provenance:
                    assert origin == partner or agreements.terms(origin, partner, product) is not None
            else:  # a raw report forwarded under an agreement covering its kind
                report = by_id[m.ref]
                assert m.provenance == (report.label.originator,) != (partner,)
                assert partner in report.label.releasable_to
                assert agreements.terms(report.label.originator, partner, m.kind) is not None

    # Provenance is honest: the latest message on a track names every originator that fed it.
    for m, contributors in last.values():
        assert {by_id[r].label.originator for r in contributors} <= set(m.provenance)

    # Fused once per distinct entitlement set: partners share a tracker exactly when they see the same reports.
    final = result.hub.groups
    assert sorted(p for g in final for p in g.members) == sorted(agreements.partners)
    for a, b in combinations(agreements.partners, 2):
        same_group = result.hub.group_of(a) is result.hub.group_of(b)
        assert same_group == (visible[a] == visible[b])
    # Everything a partner may see reaches its picture.
    for partner in agreements.partners:
        assert result.hub.counts[partner]["fused"] == len(visible[partner])


def test_two_dyads_keep_korean_data_from_japan_and_trilateral_shares_it(tmp_path) -> None:
    every = ("KOR", "JPN", "USA")
    reports = [radar_report(f"k{i}", "KOR", every, 1000.0 + i) for i in range(4)]
    reports += [radar_report(f"j{i}", "JPN", every, 1010.0 + i) for i in range(4)]
    out = {}
    for name in ("two-dyads", "trilateral"):
        ring = KeyRing.generate(every)
        items = [(*signed(ring, r), r.sent + 0.5) for r in reports]
        result = run_hub(load(name), ring, items, Store(tmp_path / f"{name}.sqlite"))
        out[name] = {
            p: {o for m in msgs if m.kind == "tracks" for o in m.provenance}
            for p, msgs in result.views.items()
        }
        out[name]["groups"] = len(result.hub.groups)
    assert out["two-dyads"]["JPN"] == {"JPN"} and out["two-dyads"]["KOR"] == {"KOR"}
    assert out["two-dyads"]["USA"] == {"KOR", "JPN"} and out["two-dyads"]["groups"] == 3
    assert out["trilateral"]["JPN"] == out["trilateral"]["KOR"] == {"KOR", "JPN"}
    assert out["trilateral"]["groups"] == 1


def test_precision_and_delay_follow_the_agreement(tmp_path) -> None:
    text = """
[partners]
KOR = "Korea"
USA = "US"
[[agreement]]
name = "KOR-USA"
members = ["KOR", "USA"]
covers = [{ kind = "unit", round_km = 10, delay_s = 60 }, { kind = "tracks", impact_only = true, delay_s = 5 }]
"""
    agreements = parse(text)
    ring = KeyRing.generate(("KOR", "USA"))
    unit = unit_report("u1", "USA", ("USA", "KOR"), 1000.0)
    plots = [radar_report(f"p{i}", "USA", ("USA", "KOR"), 1001.0 + i) for i in range(3)]
    items = [(*signed(ring, r), r.sent + 0.5) for r in [unit, *plots]]
    result = run_hub(agreements, ring, items, Store(tmp_path / "s.sqlite"))
    kor = result.views["KOR"]
    [forwarded] = [m for m in kor if m.kind == "unit"]
    assert forwarded.release == forwarded.time + 60 and forwarded.precision == "round 10 km"
    body = forwarded.body["body"]
    assert (body["lat"], body["lon"]) != (unit.body.lat, unit.body.lon)
    assert abs(body["lat"] - unit.body.lat) < 0.1 and forwarded.body.get("signature", "") == ""  # unsigned
    notices = [m for m in kor if m.kind == "impacts"]
    assert notices and all(m.release == m.time + 5 and "lat" not in m.body for m in notices)
    assert not [m for m in kor if m.kind == "tracks"]
    # USA's own picture is complete and immediate.
    assert [m for m in result.views["USA"] if m.kind == "tracks"] and all(
        m.release == m.time for m in result.views["USA"]
    )
    # Messages go out in release order.
    assert [m.release for m in kor] == sorted(m.release for m in kor)


def test_live_hub_uses_its_own_clock_and_releases_delayed_messages_on_time(tmp_path) -> None:
    import asyncio

    from meshwarn.bus.embedded import EmbeddedBus
    from meshwarn.share.hub import Hub
    from meshwarn.share.signing import HUB

    now = [5000.0]
    ring = KeyRing.generate(("KOR", "JPN", "USA"))
    unit = unit_report("u1", "USA", ("USA", "KOR"), 4000.0)  # the header below claims it is fresh

    async def go() -> tuple[list[str], list[str], list[str]]:
        bus = EmbeddedBus()
        hub = Hub(
            load("two-dyads"),
            ring.public(),
            ring.private[HUB],
            ToyTracker,
            bus,
            Store(tmp_path / "s"),
            clock=lambda: now[0],
        )
        await hub.start()
        got: list[str] = []

        async def on_view(msg) -> None:
            got.append(msg.subject)

        await bus.subscribe("view.>", on_view)
        fresh = unit_report("u2", "USA", ("USA", "KOR"), 5000.0)
        for report in (unit, fresh):
            await bus.publish(*signed(ring, report), {"arrival": "4000.5"})
            await bus.drain()
        before = list(got)
        now[0] = 5061.0  # the 60 s agreed delay on unit positions has passed
        for _ in range(100):  # the hub's release loop ticks every 0.5 s; poll, bounded at 10 s
            await asyncio.sleep(0.1)
            await bus.drain()
            if len(got) > len(before):
                break
        stale = [q.report_id for q in hub.quarantine]
        await hub.finish()
        return before, got, stale

    before, after, stale = asyncio.run(go())
    assert stale == ["u1"]  # judged by the hub's clock, not the header
    assert before == [] and after == ["view.KOR.unit"]


def test_impact_only_channel_gives_japan_impact_notices_for_tracks_with_korean_data(tmp_path) -> None:
    every = ("KOR", "JPN", "USA")
    reports = [radar_report(f"k{i}", "KOR", every, 1000.0 + i) for i in range(3)]
    reports += [radar_report(f"j{i}", "JPN", every, 1000.5 + i, 250_000.0) for i in range(3)]
    ring = KeyRing.generate(every)
    items = [(*signed(ring, r), r.sent + 0.5) for r in sorted(reports, key=lambda r: r.sent)]
    result = run_hub(load("trilateral-impact-only"), ring, items, Store(tmp_path / "s.sqlite"))
    jpn = result.views["JPN"]
    assert {m.ref for m in jpn if m.kind == "impacts"} == {"T1"}  # made with KOR's plots
    assert {m.ref for m in jpn if m.kind == "tracks"} == {"T2"}  # JPN's own
    assert all(m.precision == "impact only" for m in jpn if m.kind == "impacts")
    assert {m.kind for m in result.views["USA"]} >= {"tracks", "radar"}
