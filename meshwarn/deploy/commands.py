"""`meshwarn deploy ...`: distributed deployment on NATS JetStream (registered by meshwarn.cli)."""

from __future__ import annotations

import argparse
import ipaddress
import re
from pathlib import Path

from meshwarn.argtypes import port, port_or_zero
from meshwarn.deploy import nats_config, processes
from meshwarn.errors import InputError


def register(top: argparse._SubParsersAction, exercise: argparse._SubParsersAction) -> None:
    deploy = top.add_parser("deploy", help="generate configuration for a distributed (NATS) deployment")
    steps = deploy.add_subparsers(dest="deploy_command", required=True, metavar="STEP")
    cfg = steps.add_parser(
        "nats-config",
        help="nats-server.conf with a HUB account and one account per partner, credentials per partner",
    )
    cfg.add_argument(
        "--agreements", required=True, help="agreements TOML file, or a shipped name (trilateral)"
    )
    cfg.add_argument("--out", required=True, type=Path, help="directory to write into")
    cfg.add_argument(
        "--host", type=host_name, default="127.0.0.1", help="address the hub server listens on (name or IPv4)"
    )
    cfg.add_argument("--port", type=port, default=4222, help="client port")
    cfg.add_argument(
        "--leaf-port", type=port_or_zero, default=7422, help="leaf-node port for partner sites (0: none)"
    )
    cfg.add_argument(
        "--force", action="store_true", help="overwrite an existing config (new passwords for all)"
    )
    cfg.set_defaults(func=_nats_config)
    keys = steps.add_parser(
        "keys", help="signing keys for an exercise run by separate node and hub processes"
    )
    keys.add_argument("--agreements", required=True, help="agreements file, or a shipped name")
    keys.add_argument("--dir", type=Path, required=True, help="exercise directory")
    keys.set_defaults(func=_keys)
    processes.register(top)


HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def host_name(text: str) -> str:
    """A host name or an IPv4 address: it goes into the server's config and into every partner's URL."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        address = None
    if address is not None and address.version == 6:
        # nats://user:pass@::1:4222 is not a URL; the URLs handed to partners would not work.
        raise argparse.ArgumentTypeError(f"{text!r}: give a host name or an IPv4 address, not IPv6")
    labels = text.split(".")
    if address is None and (len(text) > 253 or not all(HOST_LABEL.fullmatch(label) for label in labels)):
        raise argparse.ArgumentTypeError(f"{text!r}: not a host name or IPv4 address")
    return text


def _keys(args: argparse.Namespace) -> int:
    from meshwarn.share.agreements import load

    partners = sorted(load(args.agreements).partners)
    args.dir.mkdir(parents=True, exist_ok=True)
    processes.write_keys(args.dir, partners)
    print(
        f"wrote {args.dir}/keys.json (public) and {args.dir}/keys/<NAME>.key (mode 600) for HUB, {', '.join(partners)}"
    )
    print("give each node only its own .key file")
    return 0


def _nats_config(args: argparse.Namespace) -> int:
    if (args.out / "nats-server.conf").exists() and not args.force:
        raise InputError(
            f"{args.out / 'nats-server.conf'} exists: --force replaces it and every partner's password"
        )
    if args.leaf_port and args.leaf_port == args.port:
        raise InputError(f"--leaf-port {args.leaf_port} is the client port: give each its own")
    dep = nats_config.generate(
        args.agreements, args.out, host=args.host, port=args.port, leaf_port=args.leaf_port or None
    )
    print(f"wrote {dep.config} (mode 600): accounts HUB, {', '.join(dep.partners)}")
    print("credentials, shown this once (also in the mode-600 files named):")
    for account, url in dep.urls.items():
        print(f"  {account}: {url}  ({dep.credentials[account]})")
    for partner, path in dep.leaves.items():
        print(f"  leaf node for {partner}: {path}")
    print(f"start it: nats-server -c {dep.config}")
    return 0
