"""Agreements files: the shipped ones mean what they say; bad ones are refused naming the line."""

from pathlib import Path

import pytest

from meshwarn.errors import InputError
from meshwarn.share.agreements import load, parse, shipped_names

GOOD = """\
[partners]
KOR = "Korea"
JPN = "Japan"
USA = "US"

[[agreement]]
name = "KOR-USA"
members = ["KOR", "USA"]
covers = [
  { kind = "tracks" },
  { kind = "unit", round_km = 10, delay_s = 60 },
]
"""


def test_shipped_files_load_by_bare_name() -> None:
    assert {"two-dyads", "trilateral", "trilateral-impact-only"} <= set(shipped_names())
    assert all(load(name).partners for name in shipped_names())
    dyads, tri = load("two-dyads"), load("trilateral")
    assert dyads.partners.keys() == tri.partners.keys() == {"KOR", "JPN", "USA"}
    assert frozenset({"KOR", "JPN"}) not in dyads.channels()
    assert frozenset({"KOR", "JPN"}) in tri.channels()
    assert not dyads.may_fuse("KOR", "JPN") and not dyads.may_fuse("JPN", "KOR")
    assert tri.may_fuse("KOR", "JPN") and tri.may_fuse("JPN", "KOR")
    # Raw radar stays bilateral even in the trilateral world.
    assert tri.terms("KOR", "JPN", "radar") is None
    assert tri.terms("KOR", "USA", "radar") is not None


def test_terms_carry_precision_and_delay() -> None:
    agreements = parse(GOOD)
    unit = agreements.terms("USA", "KOR", "unit")
    assert unit is not None and (unit.round_km, unit.delay_s) == (10.0, 60.0)
    assert agreements.terms("KOR", "KOR", "radar") is not None  # own data, always
    assert agreements.terms("KOR", "USA", "radar") is None  # not covered
    assert agreements.terms("KOR", "JPN", "tracks") is None  # no agreement at all


def test_load_by_path_and_unknown_name(tmp_path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(GOOD)
    assert load(path).name == "mine"
    with pytest.raises(InputError, match="no such agreements file"):
        load("no-such-agreement")


@pytest.mark.parametrize(
    ("edit", "line", "words"),
    [
        (lambda t: t.replace("covers = [", "covers = [ {"), 9, "Invalid"),  # a TOML syntax error
        (lambda t: t.replace('["KOR", "USA"]', '["KOR", "AUS"]'), 8, "'AUS' is not in [partners]"),
        (lambda t: t.replace('["KOR", "USA"]', '["KOR"]'), 8, "at least two"),
        (lambda t: t.replace('kind = "tracks"', 'kind = "gossip"'), 10, "kind 'gossip'"),
        (lambda t: t.replace('kind = "unit",', 'kind = "unit", impact_only = true,'), 11, "impact_only"),
        (lambda t: t.replace("delay_s = 60", "delay_s = -1"), 11, "delay_s"),
        (lambda t: t.replace('{ kind = "tracks" },', '{ kind = "unit" },'), 11, "covers 'unit' twice"),
        (lambda t: t.replace('name = "KOR-USA"', 'name = "KOR-USA"\nmoney = 3'), 8, "unknown key 'money'"),
        (lambda t: t.replace('JPN = "Japan"', 'jpn = "Japan"'), 3, "ISO alpha-3"),
    ],
)
def test_bad_file_is_refused_naming_the_line(edit, line: int, words: str) -> None:
    with pytest.raises(InputError) as info:
        parse(edit(GOOD), "x.toml")
    message = str(info.value)
    assert f"x.toml:{line}" in message or f"line {line}" in message, message
    assert words in message


def test_agreement_against_an_exclusion_is_a_contradiction() -> None:
    text = (
        GOOD + '\n[[agreement]]\nname = "KOR-JPN"\nmembers = ["KOR", "JPN"]\ncovers = [{ kind = "tracks" }]\n'
    )
    text += '\n[[exclusion]]\nmembers = ["JPN", "KOR"]\n'
    with pytest.raises(InputError, match=r"x.toml:16: .*exclusion forbids one \(line 19\)"):
        parse(text, "x.toml")


def test_two_agreements_with_different_terms_for_the_same_flow_contradict() -> None:
    text = GOOD + (
        '\n[[agreement]]\nname = "all"\nmembers = ["KOR", "JPN", "USA"]\n'
        'covers = [\n  { kind = "tracks" },\n  { kind = "unit", round_km = 5 },\n]\n'
    )
    with pytest.raises(InputError, match=r"x.toml:19: agreement 'all' contradicts 'KOR-USA' on unit"):
        parse(text, "x.toml")
    same = text.replace("round_km = 5", "round_km = 10, delay_s = 60")
    assert parse(same).terms("KOR", "JPN", "unit") is not None


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("freshness_s = 60", "freshness_s = nan"), "finite"),
        (("freshness_s = 60", "freshness_s = inf"), "finite"),
        (("delay_s = 60", "delay_s = inf"), "finite"),
        (('KOR = "Republic of Korea"', 'HUB = "a partner named like the hub"'), "reserved"),
    ],
)
def test_values_that_would_switch_a_check_off_are_refused(edit, message) -> None:
    text = (Path(__file__).parents[1] / "meshwarn" / "agreements" / "two-dyads.toml").read_text()
    assert edit[0] in text
    with pytest.raises(InputError, match=message):
        parse(text.replace(edit[0], edit[1], 1))


def test_a_single_exclusion_table_is_a_clear_error() -> None:
    text = (Path(__file__).parents[1] / "meshwarn" / "agreements" / "two-dyads.toml").read_text()
    with pytest.raises(InputError, match="exclusion"):
        parse(text.replace("[[exclusion]]", "[exclusion]"))
