"""Links deliver every report, late and out of order, holding them through outages."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from meshwarn.model import Label, RadarPlot, Report
from meshwarn.sim.links import Link, deliver, outage_windows

START = 1_700_000_000.0


def reports(partner: str, n: int, period: float) -> list[Report]:
    label = Label(originator=partner, classification="SECRET", releasable_to=(partner,))
    out = []
    for k in range(n):
        t = START + k * period
        body = RadarPlot(t, "R", 36.0, 128.0, 0.0, 1e5, 10.0, 5.0, 50.0, 0.1, 0.1)
        out.append(Report(id=f"{partner}-{k}", label=label, sent=t, body=body))
    return out


def test_reports_arrive_late_out_of_order_and_none_lost() -> None:
    sent = reports("KOR", 300, 1.0) + reports("JPN", 300, 1.0)
    links = {
        "KOR": Link("KOR", latency_s=2.0, jitter_s=1.0, outages=((100.0, 130.0),)),
        "JPN": Link("JPN", latency_s=0.3, jitter_s=0.1),
    }
    deliveries, outages = deliver(sent, links, START, START + 300.0, np.random.default_rng(1))
    assert sorted(d.report.id for d in deliveries) == sorted(r.id for r in sent)
    arrivals = [d.arrival for d in deliveries]
    assert arrivals == sorted(arrivals)
    assert all(d.arrival > d.report.sent for d in deliveries)
    sent_order = [d.report.sent for d in deliveries]
    assert sent_order != sorted(sent_order)  # the hub sees them out of order
    assert outages["KOR"] == [(START + 100.0, START + 130.0)] and outages["JPN"] == []
    queued = [
        d for d in deliveries if d.report.label.originator == "KOR" and 100.0 <= d.report.sent - START < 130.0
    ]
    assert len(queued) == 30 and all(d.arrival >= START + 130.0 for d in queued)
    # JPN reports sent during KOR's outage still flow
    jpn = [
        d for d in deliveries if d.report.label.originator == "JPN" and 100.0 <= d.report.sent - START < 130.0
    ]
    assert all(d.arrival < START + 130.0 for d in jpn)


def test_random_outages_merge_and_stay_in_the_exercise() -> None:
    link = Link("USA", outages_per_hour=30.0, outage_mean_s=60.0, outages=((0.0, 10.0), (5.0, 20.0)))
    windows = outage_windows(link, START, START + 3600.0, np.random.default_rng(2))
    assert windows[0] == (START, START + 20.0)  # the two fixed ones overlap: merged
    assert len(windows) > 5
    assert all(a < b for a, b in windows) and all(
        b1 < a2 for (_, b1), (a2, _) in zip(windows, windows[1:], strict=False)
    )


def test_a_partner_without_a_link_gets_the_default() -> None:
    deliveries, _ = deliver(reports("AUS", 20, 1.0), {}, START, START + 20.0, np.random.default_rng(3))
    delays = [d.arrival - d.report.sent for d in deliveries]
    assert len(deliveries) == 20 and 0.0 < min(delays) and max(delays) < 2.0


@settings(max_examples=40, deadline=None)
@given(
    latency=st.floats(0.0, 5.0),
    jitter=st.floats(0.0, 5.0),
    outages=st.lists(st.tuples(st.floats(0.0, 90.0), st.floats(0.5, 30.0)), max_size=4),
    seed=st.integers(0, 2**16),
)
def test_no_report_is_lost_or_delivered_before_it_may_be(
    latency: float, jitter: float, outages: list[tuple[float, float]], seed: int
) -> None:
    windows = tuple((a, a + d) for a, d in outages)
    link = Link("KOR", latency_s=latency, jitter_s=jitter, outages=windows)
    sent = reports("KOR", 100, 1.0)
    deliveries, _ = deliver(sent, {"KOR": link}, START, START + 100.0, np.random.default_rng(seed))
    assert sorted(d.report.id for d in deliveries) == sorted(r.id for r in sent)
    for d in deliveries:
        offset = d.report.sent - START
        leaves = max([offset] + [b for a, b in windows if a <= offset < b])
        assert d.arrival - START >= leaves
