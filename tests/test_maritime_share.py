"""Maritime picture shared under the agreements: kinds, entitlement groups, views that leak nothing."""

from __future__ import annotations

import pytest

from meshwarn.errors import InputError
from meshwarn.share.agreements import load, parse


def test_shipped_agreements_cover_maritime_kinds():
    tri, dyads = load("trilateral"), load("two-dyads")
    for kind in ("ais", "surface", "vessel_tracks", "anomalies"):
        assert tri.terms("JPN", "KOR", kind) is not None
        assert dyads.terms("KOR", "USA", kind) is not None
        assert dyads.terms("JPN", "KOR", kind) is None  # no KOR-JPN channel in two dyads
    assert load("trilateral-impact-only").terms("JPN", "KOR", "vessel_tracks") is None


def test_unknown_maritime_kind_is_named():
    text = '[partners]\nKOR = "K"\nUSA = "U"\n[[agreement]]\nname = "x"\nmembers = ["KOR", "USA"]\n'
    parse(text + 'covers = [{ kind = "vessel_tracks" }]\n')
    with pytest.raises(InputError, match="vessel_trax"):
        parse(text + 'covers = [{ kind = "vessel_trax" }]\n')
