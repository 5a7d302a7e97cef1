"""Each partner's link to the hub: latency with jitter, and outages.

A report leaves its partner node when it is sent; it crosses the link in the
link's latency (mean plus Gaussian jitter, never below MIN_LATENCY_S). A report
sent during an outage waits in the node's queue and goes out when the outage
ends. Reports therefore reach the hub late and out of order, but none is lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meshwarn.model import Delivery, Report

MIN_LATENCY_S = 0.01


@dataclass(frozen=True)
class Link:
    partner: str
    latency_s: float = 0.5
    jitter_s: float = 0.2
    outages_per_hour: float = 0.0  # random outages, a Poisson process
    outage_mean_s: float = 30.0  # their mean length (exponential)
    outages: tuple[tuple[float, float], ...] = ()  # fixed outages, as offsets from the start (s)


def outage_windows(
    link: Link, start: float, end: float, rng: np.random.Generator
) -> list[tuple[float, float]]:
    """The link's outages in absolute time, fixed and random, merged where they overlap."""
    windows = [(start + a, start + b) for a, b in link.outages]
    if link.outages_per_hour > 0.0:
        n = rng.poisson(link.outages_per_hour * (end - start) / 3600.0)
        begins = rng.uniform(start, end, n)
        lengths = rng.exponential(link.outage_mean_s, n)
        windows += list(zip(begins.tolist(), (begins + lengths).tolist(), strict=True))
    merged: list[tuple[float, float]] = []
    for a, b in sorted(windows):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def departure_times(sent: np.ndarray, windows: list[tuple[float, float]]) -> np.ndarray:
    """When each report actually leaves: at once, or at the end of the outage it was sent in."""
    depart = sent.copy()
    for a, b in windows:
        depart[(sent >= a) & (sent < b)] = b
    return depart


def deliver(
    reports: list[Report],
    links: dict[str, Link],
    start: float,
    end: float,
    rng: np.random.Generator,
) -> tuple[list[Delivery], dict[str, list[tuple[float, float]]]]:
    """Deliveries in the order the hub receives them, and each partner's outage windows.

    A partner without a link of its own gets the default Link.
    """
    by_partner: dict[str, list[Report]] = {}
    for report in reports:
        by_partner.setdefault(report.label.originator, []).append(report)
    deliveries: list[Delivery] = []
    outages: dict[str, list[tuple[float, float]]] = {}
    for partner in sorted(by_partner):
        group = by_partner[partner]
        link = links.get(partner) or Link(partner)
        windows = outage_windows(link, start, end, rng)
        outages[partner] = windows
        sent = np.array([r.sent for r in group])
        latency = np.maximum(link.latency_s + rng.normal(0.0, link.jitter_s, len(group)), MIN_LATENCY_S)
        arrival = departure_times(sent, windows) + latency
        deliveries.extend(Delivery(arrival=a, report=r) for a, r in zip(arrival.tolist(), group, strict=True))
    deliveries.sort(key=lambda d: (d.arrival, d.report.id))
    return deliveries, outages
