"""`meshwarn deploy ...`: distributed deployment on NATS JetStream (registered by meshwarn.cli)."""

from __future__ import annotations

import argparse
from pathlib import Path

from meshwarn.deploy import nats_config, processes


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
    cfg.add_argument("--host", default="127.0.0.1", help="address the hub server listens on")
    cfg.add_argument("--port", type=int, default=4222, help="client port")
    cfg.add_argument("--leaf-port", type=int, default=7422, help="leaf-node port for partner sites (0: none)")
    cfg.set_defaults(func=_nats_config)
    processes.register(top)


def _nats_config(args: argparse.Namespace) -> int:
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
