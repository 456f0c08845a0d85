#!/usr/bin/env python3
"""Call any WAVIS gRPC method by name with a JSON request, the way grpcurl would.

The service describes itself through server reflection (grpc.reflection.v1alpha), so this needs
no generated code: only grpcio, grpcio-reflection and protobuf.

    .venv/bin/python scripts/grpc_call.py 127.0.0.1:50054                  # list services
    .venv/bin/python scripts/grpc_call.py 127.0.0.1:50054 wavis.metering.v1.AccountsService
    .venv/bin/python scripts/grpc_call.py 127.0.0.1:50054 \\
        wavis.metering.v1.AccountsService/Describe '{}'
    echo '{"limit": 5}' | .venv/bin/python scripts/grpc_call.py 127.0.0.1:50054 \\
        wavis.metering.v1.AccountsService/ListAccounts -

The service credential goes with every call as `authorization: Bearer <token>`: --token, else
WAVIS_SERVICE_TOKEN, else <WAVIS_DATA_DIR or var>/secrets/service_token (where `make run`
keeps it). With WAVIS_GRPC_TLS_CERT/KEY/CA set (or --tls-*), the channel uses mTLS.
Replies print as JSON (one object per message for server streams); gRPC errors print
`CODE: details` and exit 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)


def find_token(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    if os.environ.get("WAVIS_SERVICE_TOKEN"):
        return os.environ["WAVIS_SERVICE_TOKEN"].strip()
    path = Path(os.environ.get("WAVIS_DATA_DIR", "var")) / "secrets" / "service_token"
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def open_channel(target: str, args: argparse.Namespace) -> grpc.Channel:
    paths = [args.tls_cert or os.environ.get("WAVIS_GRPC_TLS_CERT"),
             args.tls_key or os.environ.get("WAVIS_GRPC_TLS_KEY"),
             args.tls_ca or os.environ.get("WAVIS_GRPC_TLS_CA")]
    if not any(paths):
        return grpc.insecure_channel(target)
    if not all(paths):
        raise SystemExit("grpc_call: give all of the TLS cert, key and CA, or none")
    cert, key, ca = (Path(p).read_bytes() for p in paths if p)
    credentials = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key,
                                               certificate_chain=cert)
    return grpc.secure_channel(target, credentials)


def split_method(name: str) -> tuple[str, str]:
    """'pkg.Service/Method' or 'pkg.Service.Method' -> ('pkg.Service', 'Method')."""
    name = name.lstrip("/")
    service, sep, method = name.rpartition("/")
    if not sep:
        service, _, method = name.rpartition(".")
    if not service or not method:
        raise SystemExit(f"grpc_call: {name!r} is not a full method name like "
                         "wavis.metering.v1.AccountsService/Describe")
    return service, method


def describe_service(pool: descriptor_pool.DescriptorPool, name: str) -> str:
    service = pool.FindServiceByName(name)
    lines = [f"service {service.full_name}"]
    for method in service.methods:
        stream_in = "stream " if method.client_streaming else ""
        stream_out = "stream " if method.server_streaming else ""
        lines.append(f"  rpc {method.name}({stream_in}{method.input_type.full_name}) "
                     f"returns ({stream_out}{method.output_type.full_name})")
    return "\n".join(lines)


def call(channel: grpc.Channel, pool: descriptor_pool.DescriptorPool, full_name: str,
         request_json: str, metadata: list[tuple[str, str]], timeout: float) -> list[Any]:
    service_name, method_name = split_method(full_name)
    method = pool.FindServiceByName(service_name).FindMethodByName(method_name)
    if method is None:
        raise SystemExit(f"grpc_call: {service_name} has no method {method_name}")
    if method.client_streaming:
        raise SystemExit("grpc_call: client-streaming methods are not supported")
    request_cls = message_factory.GetMessageClass(method.input_type)
    reply_cls = message_factory.GetMessageClass(method.output_type)
    request = json_format.Parse(request_json or "{}", request_cls())
    path = f"/{service_name}/{method_name}"
    if method.server_streaming:
        stream = channel.unary_stream(path, request_serializer=request_cls.SerializeToString,
                                      response_deserializer=reply_cls.FromString)
        return list(stream(request, metadata=metadata, timeout=timeout))
    unary = channel.unary_unary(path, request_serializer=request_cls.SerializeToString,
                                response_deserializer=reply_cls.FromString)
    return [unary(request, metadata=metadata, timeout=timeout)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="grpc_call.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", help="host:port of the service, e.g. 127.0.0.1:50054")
    parser.add_argument("method", nargs="?",
                        help="package.Service/Method to call, or package.Service to describe; "
                             "omitted: list the services")
    parser.add_argument("request", nargs="?", default="{}",
                        help="the request as JSON (proto3 JSON mapping); - reads stdin")
    parser.add_argument("--token", help="service token (default: see above)")
    parser.add_argument("--timeout", type=float, default=30.0, help="deadline in seconds")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--tls-ca")
    args = parser.parse_args(argv)

    request_json = sys.stdin.read() if args.request == "-" else args.request
    token = find_token(args.token)
    metadata = [("authorization", f"Bearer {token}")] if token else []
    with open_channel(args.target, args) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        pool = descriptor_pool.DescriptorPool(database)
        try:
            if args.method is None:
                print("\n".join(database.get_services()))
                return 0
            if "/" not in args.method and args.method in database.get_services():
                print(describe_service(pool, args.method))
                return 0
            replies = call(channel, pool, args.method, request_json, metadata, args.timeout)
        except grpc.RpcError as exc:
            print(f"{exc.code().name}: {exc.details()}", file=sys.stderr)
            return 1
        except KeyError as exc:  # the pool knows no such service
            print(f"grpc_call: unknown service or type {exc}", file=sys.stderr)
            return 1
    for reply in replies:
        print(json.dumps(json_format.MessageToDict(reply, preserving_proto_field_name=True),
                         indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
