"""The warn stage plugged into the hub: one alert manager per entitlement group.

Each group's alerts are made only from that group's tracks, so they depend on
nothing its members may not see. When a group splits, both successors carry on
from a copy of its manager (the alerts already issued keep their identities).
"""

from __future__ import annotations

import copy

from meshwarn.model import Alert, Track
from meshwarn.share.hub import Group


class GroupWarner:
    """``interval_s``: a track is re-assessed at most this often (exercise time) unless its status
    changes; each radar plot moves a track, but areas at risk are decided on a cadence."""

    def __init__(self, policy: object | None = None, interval_s: float = 2.0) -> None:
        from meshwarn.geo.regions import load_regions

        self.policy = policy
        self.interval_s = interval_s
        self.fed: dict[tuple[str, str], tuple[float, str]] = {}
        self.regions = load_regions()  # shared by every manager: the map does not depend on the group
        self.managers: dict[str, object] = {}

    def manager(self, group: Group):  # noqa: ANN201 - AlertManager, imported lazily
        from meshwarn.warn.alerts import AlertManager

        found = self.managers.get(group.gid)
        if found is None:
            parent = self.managers.get(group.parent)
            if parent is not None:
                found = copy.deepcopy(parent, memo={id(self.regions): self.regions})
            else:
                found = AlertManager(self.policy, self.regions)  # type: ignore[arg-type]
            self.managers[group.gid] = found
        return found

    def __call__(self, group: Group, tracks: list[Track], now: float) -> list[Alert]:
        manager = self.manager(group)
        alerts: list[Alert] = []
        for track in sorted(tracks, key=lambda t: t.time):
            key = (group.gid, track.id)
            last_time, last_status = self.fed.get(key, (-float("inf"), ""))
            if track.status == last_status and track.time - last_time < self.interval_s:
                continue
            self.fed[key] = (track.time, track.status)
            alerts += manager.update(track)
        alerts += manager.advance(now)
        return alerts
