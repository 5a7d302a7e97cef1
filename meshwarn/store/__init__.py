"""The hub's persistent log (:mod:`meshwarn.store.sqlite`)."""
