"""wavis-admin: the operator's command line (accounts, plans, key revocation, maintenance).

It talks to the metering service over gRPC, found the way `make run` publishes it: the
WAVIS_METERING_TARGET variable, else <WAVIS_DATA_DIR>/stack.json (written by make run),
else the default port. `maintenance` writes the switch into the stack's Redis, found the same way
(WAVIS_REDIS_URL, else stack.json, else the default).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import sys
from datetime import datetime, timezone
from typing import Any

import grpc
import redis
from google.protobuf.json_format import MessageToDict

from wavis.core import maintenance
from wavis.core.errors import error_from_rpc
from wavis.core.grpc_client import open_channel
from wavis.core.redis_client import open_redis
from wavis.core.settings import CommonSettings, SettingsError, load_settings
from wavis.devstack.stack import read_stack_file
from wavis.generated.metering.v1 import accounts_pb2, accounts_pb2_grpc


def metering_target(settings: CommonSettings) -> str:
    if "WAVIS_METERING_TARGET" in os.environ:
        return settings.metering_target
    published = read_stack_file(settings.data_dir)
    if published is not None:
        return str(published["services"]["metering"])
    return settings.metering_target


def redis_url(settings: CommonSettings) -> str:
    if "WAVIS_REDIS_URL" in os.environ:
        return settings.redis_url
    published = read_stack_file(settings.data_dir)
    if published is not None:
        return str(published["redis_url"])
    return settings.redis_url


audit = logging.getLogger("wavis.admin.audit")


async def run_maintenance(args: argparse.Namespace, settings: CommonSettings) -> Any:
    redis = open_redis(settings, url=redis_url(settings))
    try:
        if args.action == "on":
            switch = maintenance.Maintenance(
                args.message, args.retry_after, getpass.getuser(),
                datetime.now(timezone.utc).isoformat(timespec="seconds"))
            await maintenance.turn_on(redis, switch)
            audit.warning("maintenance on by %s at %s: %r, Retry-After %d", switch.by,
                          switch.since, switch.message, switch.retry_after)
            return {"maintenance": "on", **vars(switch)}
        if args.action == "off":
            was_on = await maintenance.turn_off(redis)
            audit.warning("maintenance off by %s at %s%s", getpass.getuser(),
                          datetime.now(timezone.utc).isoformat(timespec="seconds"),
                          "" if was_on else " (it was not on)")
            return {"maintenance": "off"}
        current = await maintenance.read(redis)
        return {"maintenance": "off"} if current is None else {"maintenance": "on",
                                                               **vars(current)}
    finally:
        await redis.aclose()


def _json(message: Any) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True)


async def run(args: argparse.Namespace, target: str) -> Any:
    async with open_channel(target) as channel:
        metering = accounts_pb2_grpc.AccountsServiceStub(channel)
        if args.command == "create-account":
            reply = await metering.CreateAccount(accounts_pb2.CreateAccountRequest(
                email=args.email, plan=args.plan, environment=args.environment))
            return {"account_id": reply.account.account_id, "api_key": reply.api_key}
        if args.command == "list-accounts":
            accounts, cursor = [], ""
            while True:
                page = await metering.ListAccounts(accounts_pb2.ListAccountsRequest(
                    limit=100, cursor=cursor))
                accounts += [_json(account) for account in page.accounts]
                if not page.has_more:
                    return accounts
                cursor = page.next_cursor
        if args.command == "set-plan":
            reply = await metering.SetPlan(accounts_pb2.SetPlanRequest(
                account_id=args.account, plan=args.plan))
            return _json(reply.account)
        if args.command == "revoke-key":
            await metering.RevokeApiKey(accounts_pb2.RevokeApiKeyRequest(
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
    switch = commands.add_parser(
        "maintenance", help="every gateway replica answers 503 MAINTENANCE (on) or serves (off)")
    switch.add_argument("action", choices=("on", "off", "status"))
    switch.add_argument("--message", default=maintenance.DEFAULT_MESSAGE,
                        help="the error message clients get (on)")
    switch.add_argument("--retry-after", type=int, default=maintenance.DEFAULT_RETRY_AFTER,
                        help="seconds, sent as the Retry-After header (on; default 600)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        settings = load_settings(CommonSettings)
    except SettingsError as exc:
        print(f"wavis-admin: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if args.command == "maintenance":
        if args.retry_after < 0:
            print("wavis-admin: --retry-after must be 0 or more seconds", file=sys.stderr)
            raise SystemExit(2)
        # The audit line goes to stderr with who and when; the JSON state to stdout.
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        try:
            print(json.dumps(asyncio.run(run_maintenance(args, settings)), indent=2))
        except redis.RedisError as exc:
            print(f"wavis-admin: cannot reach Redis at {redis_url(settings)}: {exc}",
                  file=sys.stderr)
            raise SystemExit(1) from None
        return
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
