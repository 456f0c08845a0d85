"""The mesh's service credential: every internal gRPC call carries it, every service checks it.

A shared token (WAVIS_SERVICE_TOKEN, `authorization: Bearer <token>`, compared in constant
time by `ServiceTokenInterceptor`) and, with WAVIS_GRPC_TLS_CERT/_KEY/_CA, mTLS. One process
resolves one token and exports it to its children. See
docs/decisions/0015-service-token-and-optional-mtls.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import grpc

from wavis.core.secrets import parse_secret, require_secret
from wavis.core.settings import CommonSettings, SettingsError, load_settings

TOKEN_ENV = "WAVIS_SERVICE_TOKEN"
TOKEN_FILE = "service_token"
AUTHORIZATION_METADATA = "authorization"
BEARER = "Bearer "
TLS_ENV = ("WAVIS_GRPC_TLS_CERT", "WAVIS_GRPC_TLS_KEY", "WAVIS_GRPC_TLS_CA")

# Methods any caller may use: Kubernetes gRPC probes and `grpcurl list` carry no credential.
# (Reflection only describes the public protos; every WAVIS method stays protected.)
UNAUTHENTICATED_PREFIXES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)

_process_token: str | None = None


def service_token(settings: CommonSettings | None = None) -> str:
    """The token this process sends and accepts.

    Order: the settings' WAVIS_SERVICE_TOKEN, the environment's, the token this process already
    resolved, then (development only) <data dir>/secrets/service_token, generated if missing.
    """
    global _process_token
    if settings is not None and settings.service_token:
        return settings.service_token
    raw = os.environ.get(TOKEN_ENV)
    if raw:
        try:
            return parse_secret(raw)
        except ValueError as exc:
            raise SettingsError(f"{TOKEN_ENV} {exc}") from None
    if _process_token is not None:
        return _process_token
    if settings is None:
        settings = load_settings(CommonSettings)
    token = require_secret(None, TOKEN_ENV, TOKEN_FILE, production=settings.is_production,
                           data_dir=settings.data_dir)
    _process_token = token
    # Children of this process (a devstack's services, a CLI a test starts) inherit it.
    os.environ.setdefault(TOKEN_ENV, token)
    return token


def publish_dev_token(data_dir: Path, token: str) -> None:
    """Write <data dir>/secrets/service_token if missing, so operator tools pointed at that
    data dir (wavis-admin, scripts/grpc_call.py) find the token a devstack uses."""
    path = data_dir / "secrets" / TOKEN_FILE
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(token)


def bearer(token: str) -> str:
    return BEARER + token


@dataclass(frozen=True)
class TlsFiles:
    cert: bytes
    key: bytes
    ca: bytes

    def server_credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials(
            [(self.key, self.cert)], root_certificates=self.ca, require_client_auth=True)

    def channel_credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca, private_key=self.key, certificate_chain=self.cert)


def tls_files(settings: CommonSettings | None = None) -> TlsFiles | None:
    """The mTLS material, when all three WAVIS_GRPC_TLS_* paths are set; None when none is."""
    paths: list[Path | None]
    if settings is not None:
        paths = [settings.grpc_tls_cert, settings.grpc_tls_key, settings.grpc_tls_ca]
    else:
        paths = [Path(os.environ[n]) if os.environ.get(n) else None for n in TLS_ENV]
    if not any(paths):
        return None
    if not all(paths):
        raise SettingsError("set all of WAVIS_GRPC_TLS_CERT, WAVIS_GRPC_TLS_KEY and "
                            "WAVIS_GRPC_TLS_CA, or none of them")
    try:
        cert, key, ca = (Path(p).read_bytes() for p in paths if p is not None)
    except OSError as exc:
        raise SettingsError(f"cannot read the gRPC TLS files: {exc}") from None
    return TlsFiles(cert, key, ca)
