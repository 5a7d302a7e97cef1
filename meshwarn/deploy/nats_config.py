"""nats-server configuration from an agreements file: partners as accounts, the hub as the only JetStream.

Accounts::

    HUB   user "hub"; JetStream; streams REPORTS/VIEWS/AUDIT and consumers live here
    KOR   user "kor"; no JetStream of its own. It imports from HUB, and HUB exports to KOR alone:
            service  report.KOR.>                              publish its reports (and get PubAcks)
            service  $JS.API.CONSUMER.MSG.NEXT.{VIEWS,AUDIT}.KOR  pull its durable consumers,
                     $JS.API.CONSUMER.INFO.{VIEWS,AUDIT}.KOR        seen in KOR as $JS.HUB.API...
            service  $JS.ACK.{VIEWS,AUDIT}.KOR.>               acknowledge what it pulled
            stream   view.KOR.>, audit.KOR                     live (core NATS) copies

Nothing else of the hub is visible in KOR, so KOR cannot read view.JPN.> even by
asking the JetStream API; on top of that each partner user has publish/subscribe
permissions limited to those subjects, so the server answers anything else with a
permissions violation. Passwords are random (``secrets``), never defaulted. The
server config holds only their bcrypt hashes (nats-server checks a ``$2a$`` password
against the hash on connect); the plain password is written once, into the account's
own ``credentials/<ACCOUNT>.url`` (mode 600), which goes to that partner alone.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import bcrypt

from meshwarn.deploy.server import quote
from meshwarn.share import agreements as agreements_mod

HUB = "HUB"
API_PREFIX = "$JS.HUB.API"  # must match meshwarn.bus.nats.HUB_API
STREAM_SUBJECTS = {"VIEWS": "view.{p}.>", "AUDIT": "audit.{p}"}
# nats-server verifies the hash on every connect: cost 10 keeps a connect well under 0.1 s
# on a loaded core, while a stolen config still costs an attacker 2^10 rounds a guess.
BCRYPT_COST = 10


@dataclass(frozen=True)
class Credentials:
    account: str
    user: str
    password: str

    def url(self, host: str, port: int, scheme: str = "nats") -> str:
        return f"{scheme}://{self.user}:{self.password}@{host}:{port}"

    def server_entry(self, extra: str = "") -> str:
        """The user as a server config lists it: the bcrypt hash, never the password itself."""
        return f"{{ user: {quote(self.user)}, password: {quote(password_hash(self.password))}{extra} }}"


def password_hash(password: str, cost: int = BCRYPT_COST) -> str:
    # "$2a$": the prefix nats-server documents for bcrypt passwords
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost, prefix=b"2a")).decode()


def new_credentials(accounts: list[str]) -> dict[str, Credentials]:
    return {a: Credentials(a, a.lower(), secrets.token_urlsafe(24)) for a in accounts}


def _services(partner: str) -> list[tuple[str, str, bool]]:
    """(subject in HUB, subject as the partner sees it, many responses?) for one partner."""
    found = [(f"report.{partner}.>", f"report.{partner}.>", False)]
    for stream in STREAM_SUBJECTS:
        for api, stream_reply in (("MSG.NEXT", True), ("INFO", False)):
            subject = f"CONSUMER.{api}.{stream}.{partner}"
            found.append((f"$JS.API.{subject}", f"{API_PREFIX}.{subject}", stream_reply))
        found.append((f"$JS.ACK.{stream}.{partner}.>", f"$JS.ACK.{stream}.{partner}.>", False))
    return found


def _live(partner: str) -> list[str]:
    return [s.format(p=partner) for s in STREAM_SUBJECTS.values()]


def _list(items: list[str], indent: str) -> str:
    return "[\n" + "".join(f"{indent}  {item}\n" for item in items) + f"{indent}]"


def _hub_account(partners: list[str], cred: Credentials) -> str:
    exports = []
    for p in partners:
        for hub_subject, _, many in _services(p):
            kind = ", response_type: stream" if many else ""
            exports.append(f"{{ service: {quote(hub_subject)}, accounts: [{p}]{kind} }}")
        exports += [f"{{ stream: {quote(s)}, accounts: [{p}] }}" for s in _live(p)]
    user = cred.server_entry()
    return f"  {HUB} {{\n    jetstream: enabled\n    users: [ {user} ]\n    exports: {_list(exports, '    ')}\n  }}\n"


def partner_permissions(partner: str) -> tuple[list[str], list[str]]:
    publish = [seen for _, seen, _ in _services(partner)]
    return publish, ["_INBOX.>", *_live(partner)]


def _partner_account(partner: str, cred: Credentials) -> str:
    imports = []
    for hub_subject, seen, _ in _services(partner):
        rename = f", to: {quote(seen)}" if seen != hub_subject else ""
        imports.append(f"{{ service: {{ account: {HUB}, subject: {quote(hub_subject)} }}{rename} }}")
    imports += [f"{{ stream: {{ account: {HUB}, subject: {quote(s)} }} }}" for s in _live(partner)]
    publish, subscribe = partner_permissions(partner)
    perms = (
        f"permissions: {{ publish: {{ allow: [{', '.join(map(quote, publish))}] }}, "
        f"subscribe: {{ allow: [{', '.join(map(quote, subscribe))}] }} }}"
    )
    user = cred.server_entry(f", {perms}")
    return f"  {partner} {{\n    users: [ {user} ]\n    imports: {_list(imports, '    ')}\n  }}\n"


def hub_config(
    partners: list[str],
    creds: dict[str, Credentials],
    *,
    host: str = "127.0.0.1",
    port: int = 4222,
    store_dir: str = "jetstream",
    leaf_port: int | None = None,
    server_name: str = "meshwarn-hub",
    cluster: str = "",
) -> str:
    """The hub's nats-server.conf: HUB account with JetStream, one account per partner."""
    accounts = _hub_account(partners, creds[HUB]) + "".join(_partner_account(p, creds[p]) for p in partners)
    parts = [
        "# Generated by `meshwarn deploy nats-config`: bcrypt hashes of the passwords; keep it mode 600.",
        f"server_name: {quote(server_name)}",
        f"host: {quote(host)}",
        f"port: {port}",
        f"jetstream {{ store_dir: {quote(store_dir)} }}",
        f"accounts {{\n{accounts}}}",
    ]
    if leaf_port:
        parts.append(f"leafnodes {{ host: {quote(host)}, port: {leaf_port} }}")
    if cluster:
        parts.append(cluster)
    return "\n".join(parts) + "\n"


def leaf_config(
    partner: str,
    cred: Credentials,
    local: Credentials,
    *,
    hub_host: str,
    leaf_port: int,
    local_port: int = 4222,
    store_dir: str = "",
) -> str:
    """A partner site's own nats-server, joined to the hub as a leaf node bound to its account.

    Local clients (the partner node, its consoles) connect to it with ``local`` (stored here as
    its bcrypt hash); the remote URL must hold the partner's hub password in plain text, so
    this file is as secret as ``credentials/<PARTNER>.url`` and goes to that partner alone. The leaf
    carries to and from the hub exactly what the partner's hub user may publish and
    subscribe, so the same NatsBus partner mode works at the site as at the hub.
    """
    remote = quote(f"nats-leaf://{cred.user}:{cred.password}@{hub_host}:{leaf_port}")
    user = local.server_entry()
    lines = [
        f"# Leaf node for partner {partner}: run at the {partner} site. Holds its hub password (mode 600).",
        f"server_name: {quote(f'meshwarn-leaf-{partner.lower()}')}",
        f"host: 127.0.0.1\nport: {local_port}",
        f"accounts {{\n  {partner} {{ users: [ {user} ] }}\n}}",
        f"leafnodes {{ remotes: [ {{ url: {remote}, account: {partner} }} ] }}",
    ]
    return "\n".join(lines) + "\n"


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


@dataclass(frozen=True)
class Deployment:
    config: Path
    partners: list[str]
    credentials: dict[str, Path]
    urls: dict[str, str]
    leaves: dict[str, Path]


def generate(
    agreements_source: str | Path,
    out: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 4222,
    leaf_port: int | None = 7422,
    leaf_local_port: int = 4222,
) -> Deployment:
    """Write nats-server.conf, credentials/<ACCOUNT>.url, leaf/<PARTNER>.conf and credentials/leaf-<P>.url."""
    partners = sorted(agreements_mod.load(agreements_source).partners)
    creds = new_credentials([HUB, *partners])
    config = out / "nats-server.conf"
    store = str((out / "jetstream").resolve())
    _write_secret(
        config, hub_config(partners, creds, host=host, port=port, store_dir=store, leaf_port=leaf_port)
    )
    urls = {a: c.url(host, port) for a, c in creds.items()}
    files = {a: out / "credentials" / f"{a}.url" for a in creds}
    for account, path in files.items():
        _write_secret(path, urls[account] + "\n")
    leaves = {}
    if leaf_port:
        for p in partners:
            local = Credentials(p, p.lower(), secrets.token_urlsafe(24))
            leaves[p] = out / "leaf" / f"{p}.conf"
            text = leaf_config(
                p, creds[p], local, hub_host=host, leaf_port=leaf_port, local_port=leaf_local_port
            )
            _write_secret(leaves[p], text)
            urls[f"leaf-{p}"] = local.url("127.0.0.1", leaf_local_port)
            files[f"leaf-{p}"] = out / "credentials" / f"leaf-{p}.url"
            _write_secret(files[f"leaf-{p}"], urls[f"leaf-{p}"] + "\n")
    return Deployment(config, partners, files, urls, leaves)
