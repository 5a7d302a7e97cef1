"""The shipped scenarios end to end: every missile gets one confirmed track, and no false ones."""

from __future__ import annotations

import pytest

from meshwarn.score import score
from meshwarn.sim.scenario import load_scenario
from meshwarn.sim.simulate import simulate
from meshwarn.track.commands import _batches
from meshwarn.track.tracker import Tracker


@pytest.mark.parametrize("name", ["irbm-overflight"])
def test_every_missile_of_a_scenario_gets_one_confirmed_track(name: str) -> None:
    sim = simulate(load_scenario(name))
    tracker = Tracker()
    tracks = []
    picture = -1e18
    for arrival, reports in _batches(iter(sim.deliveries)):
        tracks += tracker.process_batch(reports, arrival)
        if arrival > picture + 10.0:  # the hub's picture: coasting tracks, every 10 s
            picture = arrival
            tracks += [t for t in tracker.tracks(arrival) if t.status == "coasting"]
    result = score(sim.truth, tracks)
    missiles = result["missiles"]
    assert missiles and all(len(m["track_ids"]) == 1 for m in missiles.values())  # type: ignore[union-attr]
    assert result["false_tracks"] == [] and result["track_breaks"] == 0
    late = [row for row in result["impact"] if row["since_launch_s"][0] >= 600]  # type: ignore[union-attr, index]
    assert late and all(row["error_km_median"] < 1.0 for row in late)  # type: ignore[index]
