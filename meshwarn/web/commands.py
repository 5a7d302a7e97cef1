"""`meshwarn serve`: the common picture for an exercise directory, replayed or live."""

from __future__ import annotations

import argparse
import errno
import socket
from pathlib import Path

from meshwarn.argtypes import port
from meshwarn.errors import InputError


def register(top: argparse._SubParsersAction, exercise: argparse._SubParsersAction) -> None:
    serve = top.add_parser("serve", help="serve the common-picture page for an exercise directory")
    serve.add_argument("directory", type=Path, help="exercise directory (with views/)")
    serve.add_argument(
        "more", type=Path, nargs="*", metavar="DIR", help="more exercise directories shown on the same page "
        "(e.g. the maritime picture of `maritime run`); read once, not followed live",
    )  # fmt: skip
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=port, default=8765)
    serve.add_argument("--live", action="store_true", help="follow the views as a running hub writes them")
    serve.set_defaults(func=cmd_serve)


def print_credentials(directory: Path, by_secret: dict[str, str]) -> None:
    print(f"Credentials for this exercise (shown once; kept in {directory}/web-credentials.json, mode 600):")
    for secret, role in sorted(by_secret.items(), key=lambda item: item[1]):
        print(f"  {role:<8} {secret}")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or one line saying why not (a port in use, a bad host).

    Bound here rather than by uvicorn, which would log a multi-line error and exit 1; the socket
    is then handed to uvicorn, so no other program can take the port in between."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise InputError(f"--host {host}: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no clash
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        why = (
            "already in use (another server is listening there)"
            if exc.errno == errno.EADDRINUSE
            else (exc.strerror or str(exc))
        )
        raise InputError(f"cannot listen on {host}:{port}: {why}; choose another --port") from None
    return sock


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from meshwarn.web.server import ViewSource, create_app, load_or_create_credentials

    for directory in (args.directory, *args.more):
        if not directory.is_dir():
            raise InputError(f"{directory}: no such exercise directory")
    sock = bind(args.host, args.port)  # before credentials are made or printed
    source = ViewSource(args.directory, live=args.live, extra=tuple(args.more))
    credentials, created = load_or_create_credentials(args.directory, source.partners())
    if created:
        print_credentials(args.directory, credentials.by_secret)
    else:
        print(f"Credentials: see {args.directory}/web-credentials.json (made when the exercise was set up)")
    print(f"Common picture: http://{args.host}:{args.port}/  (Ctrl-C to stop)")
    config = uvicorn.Config(
        create_app(source, credentials), host=args.host, port=args.port, log_level="warning"
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
    return 0
