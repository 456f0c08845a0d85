"""API keys of the caller's account: create, list, revoke, and rotate the calling key."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway import state
from gateway.body import read_body
from gateway.endpoints import PAGE_PARAMETERS, Endpoint, Reply
from gateway.listing import paged_list
from wavis.core.roles import ADMIN, READ
from wavis.generated.metering.v1 import accounts_pb2

LIST_NAME = "api_keys"


def key_json(key: accounts_pb2.ApiKey) -> dict[str, Any]:
    return {"prefix": key.prefix, "name": key.name, "role": key.role,
            "environment": key.environment, "created_at": key.created_at,
            "last_used_at": key.last_used_at or None, "expires_at": key.expires_at or None}


async def create_api_key(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    body = await read_body(request)
    reply = await request.app[state.SERVICES].accounts.CreateApiKey(
        accounts_pb2.CreateApiKeyRequest(account_id=caller.account_id,
                                         name=body.get("name", ""), role=body["role"],
                                         environment=body["environment"]))
    return web.json_response({"api_key": reply.api_key, **key_json(reply.key)}, status=201)


async def list_api_keys(request: web.Request) -> web.Response:
    return await paged_list(request, LIST_NAME, request.app[state.SERVICES].accounts.ListApiKeys,
                            accounts_pb2.ListApiKeysRequest, "keys", key_json)


async def revoke_api_key(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    await request.app[state.SERVICES].accounts.RevokeApiKey(accounts_pb2.RevokeApiKeyRequest(
        account_id=caller.account_id, prefix=request.match_info["prefix"]))
    return web.Response(status=204)


async def rotate_api_key(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    reply = await request.app[state.SERVICES].accounts.RotateApiKey(
        accounts_pb2.RotateApiKeyRequest(account_id=caller.account_id,
                                         prefix=caller.key_prefix))
    return web.json_response({
        "new_api_key": reply.api_key, "new_key_prefix": reply.key.prefix,
        "old_key_prefix": reply.old_key_prefix,
        "grace_period_ends_at": reply.grace_period_ends_at,
        "environment": reply.key.environment,
    })


ENDPOINTS = (
    Endpoint("POST", "/api-keys", create_api_key, "Create an API key", "API keys",
             {201: Reply("The key, shown in full only here.", "ApiKeyCreated")},
             min_role=ADMIN, request_schema="ApiKeyCreateRequest"),
    Endpoint("GET", "/api-keys", list_api_keys, "List the account's API keys", "API keys",
             {200: Reply("One page of keys, newest first.", "ApiKeyList")}, min_role=READ,
             query_parameters=PAGE_PARAMETERS),
    Endpoint("DELETE", "/api-keys/{prefix}", revoke_api_key, "Revoke an API key", "API keys",
             {204: Reply("Revoked, on every gateway at once.")}, min_role=ADMIN),
    Endpoint("POST", "/keys/apikey/rotate", rotate_api_key, "Rotate the calling API key",
             "API keys", {200: Reply("The new key; the old one keeps working 24 h.",
                                     "RotatedApiKey")}, min_role=READ,
             description="Call with the key being rotated. Fires key_rotated."),
)
