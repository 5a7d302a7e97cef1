"""Multi-sensor ballistic tracking: estimators, measurement models, association, track management,
launch and impact prediction. The observer: it never imports the simulator.

    from meshwarn.track import Tracker, TrackerConfig
    tracker = Tracker()
    changed = tracker.process(report, arrival)   # model.Track list
    picture = tracker.tracks(now)
"""

from __future__ import annotations

from typing import Any

__all__ = ["Tracker", "TrackerConfig"]


def __getattr__(name: str) -> Any:
    # Lazy: `meshwarn` CLI start-up imports this package for its commands, not for the maths.
    if name in __all__:
        from meshwarn.track import tracker

        return getattr(tracker, name)
    raise AttributeError(name)
