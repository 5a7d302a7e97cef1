"""Sharing agreements as data: who shares what with whom, at what precision, with what delay.

A file (TOML) names the partners, the agreements between pairs or groups of
them, and optionally exclusions (pairs that must have no channel). Example::

    [partners]
    KOR = "Republic of Korea"
    USA = "United States"

    [hub]
    freshness_s = 60            # reports older than this on arrival are rejected

    [[agreement]]
    name = "KOR-USA"
    members = ["KOR", "USA"]
    covers = [
      { kind = "tracks" },                          # fused tracks, full precision, no delay
      { kind = "radar" },                           # raw radar plots forwarded as they come
      { kind = "unit", round_km = 10, delay_s = 60 },
      { kind = "alerts" },
    ]

    [[exclusion]]
    members = ["KOR", "JPN"]    # any agreement giving KOR and JPN a channel is a contradiction

An agreement is symmetric among its members: each member's data of a covered
kind may go to every other member (if the report's label releases it to them).
A partner may always see its own data. ``impact_only = true`` on ``tracks``
shares only the impact area and time, not the track itself.

Maritime kinds: ``ais`` and ``ais_static`` (AIS as received), ``surface`` (identity-less radar,
patrol-aircraft and satellite detections), and the products ``vessel_tracks`` and ``anomalies``.
A report feeds a partner's maritime picture if its label releases it to them and its raw kind is
covered; the picture's products go out only if their kind is covered from every contributing partner.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from itertools import permutations
from pathlib import Path
from typing import Any

from meshwarn.errors import InputError

RAW_KINDS = ("radar", "ir", "unit", "ais", "ais_static", "surface")
PRODUCT_KINDS = ("tracks", "alerts", "vessel_tracks", "anomalies")
KINDS = RAW_KINDS + PRODUCT_KINDS
_PARTNER = re.compile(r"^[A-Z]{3}$")
_COVER_KEYS = {"kind", "round_km", "delay_s", "impact_only"}
_AGREEMENT_KEYS = {"name", "members", "covers", "description"}
DEFAULT_FRESHNESS_S = 60.0


@dataclass(frozen=True)
class Terms:
    """How data of one kind may flow from one partner to another."""

    agreement: str
    round_km: float = 0.0
    delay_s: float = 0.0
    impact_only: bool = False

    def same_as(self, other: Terms) -> bool:
        return (self.round_km, self.delay_s, self.impact_only) == (
            other.round_km,
            other.delay_s,
            other.impact_only,
        )


OWN = Terms(agreement="own data")


@dataclass(frozen=True)
class Agreements:
    """Parsed agreements: ``terms(origin, recipient, kind)`` is the whole of their meaning."""

    name: str
    partners: dict[str, str]
    flows: dict[tuple[str, str, str], Terms] = field(repr=False)
    freshness_s: float = DEFAULT_FRESHNESS_S
    agreement_names: tuple[str, ...] = ()

    def terms(self, origin: str, recipient: str, kind: str) -> Terms | None:
        if origin == recipient and origin in self.partners:
            return OWN
        return self.flows.get((origin, recipient, kind))

    def may_fuse(self, origin: str, recipient: str) -> bool:
        """May recipient's fused picture use origin's reports (label permitting)?"""
        return self.terms(origin, recipient, "tracks") is not None

    def channels(self) -> set[frozenset[str]]:
        """Pairs of partners with any flow between them."""
        return {frozenset((o, r)) for (o, r, _k) in self.flows}


def load(source: str | Path) -> Agreements:
    """An agreements file by path, or a shipped one by bare name (``trilateral``)."""
    path = Path(source)
    if path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not a text file ({exc.reason} at byte {exc.start})") from None
        return parse(text, str(path))
    name = str(source).removesuffix(".toml")
    shipped = resources.files("meshwarn") / "agreements" / f"{name}.toml"
    if "/" not in name and shipped.is_file():
        return parse(shipped.read_text(encoding="utf-8"), f"{name}.toml")
    raise InputError(f"{source}: no such agreements file (and no shipped agreement of that name)")


def shipped_names() -> list[str]:
    folder = resources.files("meshwarn") / "agreements"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def parse(text: str, where: str = "<agreements>") -> Agreements:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where}: {exc}") from None  # tomllib names line and column
    return _Parser(text, where).build(data)


class _Parser:
    """Builds Agreements, naming the line of any offending key or table."""

    def __init__(self, text: str, where: str) -> None:
        self.lines = text.splitlines()
        self.where = where

    def fail(self, line: int, message: str) -> InputError:
        return InputError(f"{self.where}:{line}: {message}")

    # --- locating keys in the text (tomllib gives values, not positions) ---

    def _table_lines(self, header: str) -> list[int]:
        pattern = re.compile(rf"^\s*\[\[\s*{re.escape(header)}\s*\]\]")
        return [n for n, line in enumerate(self.lines, start=1) if pattern.match(line)]

    def _section_end(self, start: int) -> int:
        for n in range(start + 1, len(self.lines) + 1):
            stripped = self.lines[n - 1].lstrip()
            if stripped.startswith("[") and not stripped.startswith("[[agreement.covers"):
                return n
        return len(self.lines) + 1

    def line_of(self, table: str, index: int | None, key: str | None, nth: int = 0) -> int:
        """Line of `key` (its nth occurrence) in the index-th [[table]] (or top level / [table])."""
        if index is None:
            starts = [n for n, line in enumerate(self.lines, 1) if line.strip() == f"[{table}]"] or [1]
        else:
            starts = self._table_lines(table)
            starts = [starts[index]] if index < len(starts) else [1]
        start = starts[0]
        end = self._section_end(start)
        if key is None:
            return start
        pattern = re.compile(rf"(^|[{{,\s]){re.escape(key)}\s*=")
        hits = [n for n in range(start, end) if pattern.search(self.lines[n - 1].split("#")[0])]
        return hits[nth] if nth < len(hits) else start

    # --- building ---

    def build(self, data: dict[str, Any]) -> Agreements:
        partners = self.partners(data)
        freshness = self.hub(data)
        exclusions = self.exclusions(data, partners)
        flows: dict[tuple[str, str, str], Terms] = {}
        names: list[str] = []
        agreements = data.get("agreement", [])
        if not isinstance(agreements, list):
            raise self.fail(self.line_of("agreement", None, None), "[agreement] must be [[agreement]] tables")
        for index, table in enumerate(agreements):
            names.append(self.agreement(index, table, partners, exclusions, flows))
        for key in data:
            if key not in {"partners", "hub", "agreement", "exclusion", "name", "description"}:
                raise self.fail(self._top_key_line(key), f"unknown key {key!r}")
        name = str(data.get("name", Path(self.where).stem))
        return Agreements(name, partners, flows, freshness, tuple(names))

    def _top_key_line(self, key: str) -> int:
        pattern = re.compile(rf"^\s*(\[+\s*)?{re.escape(key)}\b")
        return next((n for n, line in enumerate(self.lines, 1) if pattern.match(line)), 1)

    def partners(self, data: dict[str, Any]) -> dict[str, str]:
        table = data.get("partners")
        if not isinstance(table, dict) or not table:
            raise self.fail(
                self.line_of("partners", None, None), "a [partners] table naming partners is required"
            )
        for code, title in table.items():
            if code == "HUB":  # the hub's own key and NATS account go by this name
                raise self.fail(
                    self.line_of("partners", None, code), "partner code HUB is reserved for the hub"
                )
            if not _PARTNER.match(code) or not isinstance(title, str):
                raise self.fail(
                    self.line_of("partners", None, code), f'partner {code!r}: want ISO alpha-3 = "name"'
                )
        return dict(table)

    def hub(self, data: dict[str, Any]) -> float:
        table = data.get("hub", {})
        value = table.get("freshness_s", DEFAULT_FRESHNESS_S) if isinstance(table, dict) else None
        if not _finite(value) or value <= 0:
            raise self.fail(
                self.line_of("hub", None, "freshness_s"), "hub.freshness_s must be a finite number > 0"
            )
        return float(value)

    def members(self, table: str, index: int, value: Any, partners: dict[str, str]) -> list[str]:
        line = self.line_of(table, index, "members")
        if not isinstance(value, list) or len(value) < 2:
            raise self.fail(line, f"{table} members must list at least two partners")
        for member in value:
            if member not in partners:
                raise self.fail(line, f"{table} member {member!r} is not in [partners]")
        if len(set(value)) != len(value):
            raise self.fail(line, f"{table} members repeat a partner")
        return value

    def exclusions(self, data: dict[str, Any], partners: dict[str, str]) -> dict[frozenset[str], int]:
        pairs: dict[frozenset[str], int] = {}
        tables = data.get("exclusion", [])
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            raise self.fail(self.line_of("exclusion", None, None), "exclusions are [[exclusion]] tables")
        for index, table in enumerate(tables):
            members = self.members("exclusion", index, table.get("members"), partners)
            for a, b in permutations(members, 2):
                pairs[frozenset((a, b))] = index
        return pairs

    def agreement(
        self,
        index: int,
        table: dict[str, Any],
        partners: dict[str, str],
        exclusions: dict[frozenset[str], int],
        flows: dict[tuple[str, str, str], Terms],
    ) -> str:
        header = self.line_of("agreement", index, None)
        for key in table:
            if key not in _AGREEMENT_KEYS:
                raise self.fail(self.line_of("agreement", index, key), f"agreement: unknown key {key!r}")
        name = table.get("name")
        if not isinstance(name, str) or not name:
            raise self.fail(header, "agreement needs a name")
        members = self.members("agreement", index, table.get("members"), partners)
        for a, b in permutations(members, 2):
            if frozenset((a, b)) in exclusions:
                raise self.fail(
                    self.line_of("agreement", index, "members"),
                    f"agreement {name!r} gives {a} and {b} a channel, but an exclusion forbids one "
                    f"(line {self.line_of('exclusion', exclusions[frozenset((a, b))], None)})",
                )
        covers = table.get("covers")
        if not isinstance(covers, list) or not covers:
            raise self.fail(self.line_of("agreement", index, "covers"), f"agreement {name!r} covers nothing")
        seen: set[str] = set()
        for nth, cover in enumerate(covers):
            line = self.line_of("agreement", index, "kind", nth)
            kind, terms = self.cover(cover, name, line)
            if kind in seen:
                raise self.fail(line, f"agreement {name!r} covers {kind!r} twice")
            seen.add(kind)
            for origin, recipient in permutations(members, 2):
                previous = flows.get((origin, recipient, kind))
                if previous is not None and not previous.same_as(terms):
                    raise self.fail(
                        line,
                        f"agreement {name!r} contradicts {previous.agreement!r} on {kind} "
                        f"from {origin} to {recipient} (different precision or delay)",
                    )
                flows[(origin, recipient, kind)] = terms
        return name

    def cover(self, cover: Any, name: str, line: int) -> tuple[str, Terms]:
        if not isinstance(cover, dict):
            raise self.fail(line, f"agreement {name!r}: covers entries are tables {{ kind = ... }}")
        unknown = set(cover) - _COVER_KEYS
        if unknown:
            raise self.fail(line, f"agreement {name!r}: unknown key {sorted(unknown)[0]!r} in covers")
        kind = cover.get("kind")
        if kind not in KINDS:
            raise self.fail(line, f"agreement {name!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
        round_km = cover.get("round_km", 0.0)
        delay_s = cover.get("delay_s", 0.0)
        impact_only = cover.get("impact_only", False)
        for key, value in (("round_km", round_km), ("delay_s", delay_s)):
            if not _finite(value) or value < 0:
                raise self.fail(line, f"agreement {name!r}: {key} must be a finite number >= 0")
        if not isinstance(impact_only, bool):
            raise self.fail(line, f"agreement {name!r}: impact_only must be true or false")
        if impact_only and kind != "tracks":
            raise self.fail(line, f"agreement {name!r}: impact_only applies to tracks, not {kind}")
        if round_km and kind in ("alerts", "ir"):
            raise self.fail(line, f"agreement {name!r}: round_km does not apply to {kind}")
        return kind, Terms(name, float(round_km), float(delay_s), impact_only)


def _finite(value: Any) -> bool:
    """A real number: not a bool, not NaN or infinite (which would switch a check off)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
