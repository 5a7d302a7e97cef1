"""The common-picture web server: one page, each partner sees only its own view.

Reads an exercise directory (DIR/views/<PARTNER>.jsonl, as the hub writes
them) either once (replay) or as it grows (live: the hub is still writing).
The page replays the messages itself (play, pause, speed) and, live, follows
new lines over server-sent events.

Access: each partner signs in with its own credential, generated at set-up and
printed once (never a default password); the exercise-control credential sees
every view side by side. A request for another partner's view is refused
with 403 before any of its data is read.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from meshwarn.errors import InputError

CONTROL = "CONTROL"  # the exercise-control role: sees all views
SESSION_COOKIE = "meshwarn_session"
CREDENTIALS_FILE = "web-credentials.json"
STATIC = Path(str(resources.files("meshwarn.web") / "static"))


@dataclass
class Credentials:
    """credential -> role (a partner code, or CONTROL)."""

    by_secret: dict[str, str]

    @classmethod
    def generate(cls, partners: list[str]) -> Credentials:
        roles = [*partners, CONTROL]
        return cls({f"{role.lower()}-{secrets.token_urlsafe(18)}": role for role in roles})

    def role_of(self, credential: str) -> str | None:
        # Compare every entry in constant time so the timing tells nothing.
        found = None
        for secret, role in self.by_secret.items():
            if hmac.compare_digest(secret.encode(), credential.encode()):
                found = role
        return found

    def save(self, path: Path) -> None:
        # Created owner-only from the first byte (never readable by others, not even briefly).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps({role: s for s, role in self.by_secret.items()}, indent=2))

    @classmethod
    def load(cls, path: Path) -> Credentials:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: unreadable credentials file ({exc})") from None
        return cls({secret: role for role, secret in data.items()})


def load_or_create_credentials(directory: Path, partners: list[str]) -> tuple[Credentials, bool]:
    """The exercise's credentials, and whether they were just made (then print them, once)."""
    path = directory / CREDENTIALS_FILE
    if path.exists():
        return Credentials.load(path), False
    credentials = Credentials.generate(partners)
    credentials.save(path)
    return credentials, True


@dataclass
class ViewSource:
    """The views of one exercise directory; reads lines as the hub appends them.

    ``extra`` directories (another exercise's views, e.g. the maritime picture beside the missile
    one) are read whole once, with the first read of each partner's view; only ``directory`` is
    followed live.
    """

    directory: Path
    live: bool = False
    extra: tuple[Path, ...] = ()

    @property
    def views_dir(self) -> Path:
        return self.directory / "views"

    def partners(self) -> list[str]:
        found: set[str] = set()
        for directory in (self.directory, *self.extra):
            if not (directory / "views").is_dir():
                raise InputError(f"{directory}: no views/ (run `meshwarn exercise run` first)")
            found |= {p.stem for p in (directory / "views").glob("*.jsonl")}
        return sorted(found)

    def read_initial(self, partner: str) -> tuple[list[dict], int]:
        """All of a partner's view: the extra directories' lines, then the followed one's; its offset."""
        extra = [m for directory in self.extra for m in ViewSource(directory).read_from(partner, 0)[0]]
        lines, offset = self.read_from(partner, 0)
        return extra + lines, offset

    def read_from(self, partner: str, offset: int) -> tuple[list[dict], int]:
        """Complete lines of a partner's view from a byte offset; the new offset."""
        path = self.views_dir / f"{partner}.jsonl"
        if not path.exists():
            return [], offset
        with path.open("rb") as f:
            f.seek(offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # a half-written last line waits for the next read
        messages = [json.loads(line) for line in data[:end].splitlines() if line.strip()]
        return messages, offset + end

    def scenario_info(self, role: str) -> dict:
        """The exercise window, and the sensors of the caller's own partner (all for control):
        which ships and radars another partner brought to an exercise is that partner's to share."""
        truth_path = self.directory / "truth.json"
        if not truth_path.exists():
            return {"sensors": [], "start_time": None, "end_time": None, "scenario": ""}
        truth = json.loads(truth_path.read_bytes())
        return {
            "scenario": truth.get("scenario", ""),
            "start_time": truth.get("start_time"),
            "end_time": truth.get("end_time"),
            "sensors": [s for s in truth.get("sensors", []) if role in (CONTROL, s.get("partner"))],
        }


def _regions_geojson() -> bytes:
    """Country outlines and first-level regions, simplified for drawing (computed once)."""
    from meshwarn.web.mapdata import simplified_regions

    return simplified_regions()


def create_app(source: ViewSource, credentials: Credentials) -> Starlette:
    sessions: dict[str, str] = {}  # session token -> role
    partners = source.partners()
    regions_cache: list[bytes] = []

    def role(request: Request) -> str | None:
        token = request.cookies.get(SESSION_COOKIE) or ""
        bearer = request.headers.get("authorization", "")
        if bearer.lower().startswith("bearer "):
            return credentials.role_of(bearer[7:].strip())
        return sessions.get(token)

    def allowed(request: Request, partner: str) -> Response | None:
        who = role(request)
        if who is None:
            return JSONResponse({"error": "sign in first"}, status_code=401)
        if partner not in partners:
            return JSONResponse({"error": f"unknown partner {partner}"}, status_code=404)
        if who not in (partner, CONTROL):
            return JSONResponse({"error": f"{who} may not see {partner}'s view"}, status_code=403)
        return None

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        path = (STATIC / name).resolve()
        if path.parent != STATIC.resolve() or not path.is_file():
            return Response(status_code=404)
        return FileResponse(path)

    async def login(request: Request) -> Response:
        try:
            body = await request.json()
            credential = str(body["credential"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": 'expected {"credential": ...}'}, status_code=400)
        who = credentials.role_of(credential)
        if who is None:
            return JSONResponse({"error": "unknown credential"}, status_code=401)
        token = secrets.token_urlsafe(24)
        sessions[token] = who
        response = JSONResponse({"role": who, "partners": partners if who == CONTROL else [who]})
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict")
        return response

    async def me(request: Request) -> Response:
        who = role(request)
        if who is None:
            return JSONResponse({"error": "sign in first"}, status_code=401)
        visible = partners if who == CONTROL else [who]
        return JSONResponse({"role": who, "partners": visible, "live": source.live})

    async def regions(request: Request) -> Response:
        if not regions_cache:
            regions_cache.append(await asyncio.to_thread(_regions_geojson))
        return Response(regions_cache[0], media_type="application/geo+json")

    async def scenario(request: Request) -> Response:
        who = role(request)
        if who is None:
            return JSONResponse({"error": "sign in first"}, status_code=401)
        return JSONResponse(source.scenario_info(who))

    async def messages(request: Request) -> Response:
        partner = request.path_params["partner"]
        refused = allowed(request, partner)
        if refused:
            return refused
        lines, offset = source.read_initial(partner)
        return JSONResponse({"partner": partner, "messages": lines, "offset": offset})

    async def stream(request: Request) -> Response:
        """Server-sent events: new view lines after ?offset=N, as the hub appends them."""
        partner = request.path_params["partner"]
        refused = allowed(request, partner)
        if refused:
            return refused
        try:
            offset = int(request.query_params.get("offset", "0"))
            max_s = float(request.query_params.get("max_s", "3600"))
        except ValueError:
            return JSONResponse({"error": "offset must be an integer, max_s a number"}, status_code=400)
        if offset < 0 or not max_s >= 0:
            return JSONResponse({"error": "offset and max_s must not be negative"}, status_code=400)

        async def events() -> AsyncIterator[bytes]:
            nonlocal offset
            loop = asyncio.get_running_loop()
            deadline = loop.time() + max(0.0, min(max_s, 24 * 3600.0))
            while loop.time() < deadline and not await request.is_disconnected():
                lines, offset = source.read_from(partner, offset)
                for line in lines:
                    yield b"data: " + json.dumps(line).encode() + b"\n\n"
                yield f": offset {offset}\n\n".encode()  # keep-alive
                await asyncio.sleep(0.5)

        return StreamingResponse(events(), media_type="text/event-stream")

    routes = [
        Route("/", index),
        Route("/static/{name}", static),
        Route("/api/login", login, methods=["POST"]),
        Route("/api/me", me),
        Route("/api/regions", regions),
        Route("/api/scenario", scenario),
        Route("/api/views/{partner}/messages", messages),
        Route("/api/views/{partner}/stream", stream),
    ]
    return Starlette(routes=routes)
