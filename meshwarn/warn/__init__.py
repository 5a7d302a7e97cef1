"""Warnings and interoperability: who is at risk, and telling them in the formats they use.

- :mod:`~meshwarn.warn.areas`: the overflight corridor and impact ellipse of one prediction,
  and the regions (``meshwarn.geo.regions``) they touch;
- :mod:`~meshwarn.warn.alerts`: the alert manager (Alert / Update / Cancel per region per event,
  hysteresis, boost and lost-track behaviour);
- :mod:`~meshwarn.warn.cap`: CAP 1.2 documents, valid against the OASIS schema;
- :mod:`~meshwarn.warn.cot`: Cursor-on-Target events and a TCP stream for TAK;
- :mod:`~meshwarn.warn.geojson`: a FeatureCollection for GIS tools;
- :mod:`~meshwarn.warn.quality`: warning quality against the truth (``warning_quality``);
- :mod:`~meshwarn.warn.synth`: made-up tracks from a truth object, for tests and demos;
- :mod:`~meshwarn.warn.commands`: ``meshwarn exercise warn`` and ``meshwarn export geojson|cot``.

The stage reads model messages only (tracks, truth): it never imports the simulator or the hub.
"""
