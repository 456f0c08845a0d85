"""wavis-admin: the operator's command line (accounts, plans, key revocation).

It talks to the metering service over gRPC, found the way `make run` publishes it: the
WAVIS_METERING_TARGET variable, else <WAVIS_DATA_DIR>/stack.json (written by make run),
else the default port.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

import grpc
from google.protobuf.json_format import MessageToDict

from wavis.core.errors import error_from_rpc
from wavis.core.grpc_client import open_channel
from wavis.core.settings import CommonSettings, SettingsError, load_settings
from wavis.devstack.stack import read_stack_file
from wavis.generated.metering.v1 import metering_pb2, metering_pb2_grpc


def metering_target(settings: CommonSettings) -> str:
    if "WAVIS_METERING_TARGET" in os.environ:
        return settings.metering_target
    published = read_stack_file(settings.data_dir)
    if published is not None:
        return str(published["services"]["metering"])
    return settings.metering_target


def _json(message: Any) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True)


async def run(args: argparse.Namespace, target: str) -> Any:
    async with open_channel(target) as channel:
        metering = metering_pb2_grpc.MeteringServiceStub(channel)
        if args.command == "create-account":
            reply = await metering.CreateAccount(metering_pb2.CreateAccountRequest(
                email=args.email, plan=args.plan, environment=args.environment))
            return {"account_id": reply.account.account_id, "api_key": reply.api_key}
        if args.command == "list-accounts":
            accounts, cursor = [], ""
            while True:
                page = await metering.ListAccounts(metering_pb2.ListAccountsRequest(
                    limit=100, cursor=cursor))
                accounts += [_json(account) for account in page.accounts]
                if not page.has_more:
                    return accounts
                cursor = page.next_cursor
        if args.command == "set-plan":
            reply = await metering.SetPlan(metering_pb2.SetPlanRequest(
                account_id=args.account, plan=args.plan))
            return _json(reply.account)
        if args.command == "revoke-key":
            await metering.RevokeApiKey(metering_pb2.RevokeApiKeyRequest(
                account_id=args.account or "", prefix=args.prefix))
            return {"revoked": args.prefix}
    raise AssertionError(args.command)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wavis-admin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-account",
                                 help="open an account; prints its first account_admin key")
    create.add_argument("--plan", required=True,
                        help="free, payg, starter, pro, scale or enterprise")
    create.add_argument("--email", required=True)
    create.add_argument("--environment", default="live", choices=("live", "test"),
                        help="environment of the first key (default live)")
    commands.add_parser("list-accounts", help="every account, newest first, as JSON")
    plan = commands.add_parser("set-plan", help="move an account to another plan")
    plan.add_argument("--account", required=True)
    plan.add_argument("--plan", required=True)
    revoke = commands.add_parser("revoke-key", help="revoke an API key by its prefix")
    revoke.add_argument("--prefix", required=True)
    revoke.add_argument("--account", help="only if the key belongs to this account")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        settings = load_settings(CommonSettings)
    except SettingsError as exc:
        print(f"wavis-admin: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    target = metering_target(settings)
    try:
        result = asyncio.run(run(args, target))
    except grpc.RpcError as exc:
        error = error_from_rpc(exc)
        detail = f" (metering service at {target})" if error.code == "UPSTREAM_UNAVAILABLE" else ""
        print(f"wavis-admin: {error.code}: {error.message}{detail}", file=sys.stderr)
        raise SystemExit(1) from None
    print(json.dumps(result, indent=None if args.command == "create-account" else 2))


if __name__ == "__main__":
    main()
