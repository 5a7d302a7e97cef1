"""The web API: sign-in, per-partner access (403 for another partner's view), live stream."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from meshwarn.web.server import CONTROL, Credentials, ViewSource, create_app
from tests.webserver import running


@pytest.fixture()
def exercise(tmp_path: Path) -> Path:
    views = tmp_path / "views"
    views.mkdir()
    track = {
        "id": "T1",
        "time": 100.0,
        "status": "confirmed",
        "lat": 40.0,
        "lon": 135.0,
        "provenance": ["JPN"],
    }
    (views / "JPN.jsonl").write_text(json.dumps(track) + "\n")
    (views / "KOR.jsonl").write_text(json.dumps({**track, "id": "K1", "provenance": ["KOR"]}) + "\n")
    return tmp_path


def _get(url: str, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_each_partner_sees_only_its_own_view(exercise: Path) -> None:
    credentials = Credentials.generate(["JPN", "KOR"])
    secret = {role: s for s, role in credentials.by_secret.items()}
    with running(create_app(ViewSource(exercise), credentials)) as base:
        status, body = _get(f"{base}/api/views/JPN/messages", secret["JPN"])
        assert status == 200 and [m["id"] for m in body["messages"]] == ["T1"]
        status, body = _get(f"{base}/api/views/KOR/messages", secret["JPN"])
        assert status == 403 and "K1" not in json.dumps(body)
        status, _ = _get(f"{base}/api/views/KOR/stream", secret["JPN"])
        assert status == 403
        assert _get(f"{base}/api/views/JPN/messages")[0] == 401
        assert _get(f"{base}/api/views/JPN/messages", "jpn-guessed")[0] == 401
        status, body = _get(f"{base}/api/views/KOR/messages", secret[CONTROL])
        assert status == 200 and body["messages"][0]["id"] == "K1"


def test_credentials_are_random_and_not_default() -> None:
    a, b = Credentials.generate(["JPN"]), Credentials.generate(["JPN"])
    assert set(a.by_secret).isdisjoint(b.by_secret)
    assert all(len(secret) > 20 for secret in a.by_secret)


def test_live_stream_delivers_appended_lines(exercise: Path) -> None:
    credentials = Credentials.generate(["JPN", "KOR"])
    secret = {role: s for s, role in credentials.by_secret.items()}
    source = ViewSource(exercise, live=True)
    with running(create_app(source, credentials)) as base:
        _, first = _get(f"{base}/api/views/JPN/messages", secret["JPN"])
        with (exercise / "views" / "JPN.jsonl").open("a") as f:
            f.write(json.dumps({"id": "T2", "time": 101.0, "status": "tentative", "lat": 1, "lon": 2}) + "\n")
        request = urllib.request.Request(
            f"{base}/api/views/JPN/stream?offset={first['offset']}&max_s=1.5",
            headers={"Authorization": f"Bearer {secret['JPN']}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
        data = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
        assert [m["id"] for m in data] == ["T2"]


def test_sensors_are_shown_only_to_their_own_partner(exercise: Path) -> None:
    sensors = [
        {"name": "JPN-DDG-177", "partner": "JPN", "kind": "ship_radar", "lat": 39.6, "lon": 134.8},
        {"name": "KOR-GREENPINE", "partner": "KOR", "kind": "ground_radar", "lat": 36.5, "lon": 126.8},
    ]
    (exercise / "truth.json").write_text(json.dumps({"scenario": "t", "sensors": sensors}))
    credentials = Credentials.generate(["JPN", "KOR"])
    secret = {role: s for s, role in credentials.by_secret.items()}
    with running(create_app(ViewSource(exercise), credentials)) as base:
        _, kor = _get(f"{base}/api/scenario", secret["KOR"])
        assert [s["name"] for s in kor["sensors"]] == ["KOR-GREENPINE"]
        _, control = _get(f"{base}/api/scenario", secret[CONTROL])
        assert len(control["sensors"]) == 2


def test_bad_stream_parameters_are_refused_not_crashed(exercise: Path) -> None:
    credentials = Credentials.generate(["JPN", "KOR"])
    secret = {role: s for s, role in credentials.by_secret.items()}
    with running(create_app(ViewSource(exercise), credentials)) as base:
        for query in ("offset=-5", "offset=x", "max_s=abc", "max_s=-1"):
            assert _get(f"{base}/api/views/JPN/stream?{query}", secret["JPN"])[0] == 400


def test_credentials_file_is_owner_only(tmp_path: Path) -> None:
    import stat

    path = tmp_path / "web-credentials.json"
    Credentials.generate(["JPN"]).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Credentials.load(path).role_of(next(iter(json.loads(path.read_text()).values()))) == "JPN"
