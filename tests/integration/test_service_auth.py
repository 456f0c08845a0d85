"""Every internal gRPC call carries the service credential; a call without it is refused.

Against the real mesh: a raw channel without `authorization: Bearer <WAVIS_SERVICE_TOKEN>`
gets UNAUTHENTICATED from a WAVIS method, a wrong token too, the right one succeeds, and the
standard health service and reflection answer anyone (Kubernetes probes, grpcurl list).
In process: production refuses to start without the token, and mTLS (WAVIS_GRPC_TLS_*)
refuses clients without a certificate from the CA.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from support.metering_stub import MeteringStub
from support.slow_service import SLOW, lifespan
from wavis.core import service_auth
from wavis.core.grpc_client import open_channel
from wavis.core.grpc_server import GrpcServiceRunner
from wavis.core.mesh import SERVICES_BY_KEY
from wavis.core.service_auth import TlsFiles, service_token
from wavis.core.settings import ServiceSettings, SettingsError
from wavis.devstack.stack import Stack
from wavis.generated.metering.v1 import accounts_pb2, accounts_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]


def metering_target(stack: Stack) -> str:
    return f"127.0.0.1:{stack.service_ports['metering']}"


@pytest.fixture
async def raw_channel(mesh: Stack) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(metering_target(mesh)) as channel:
        yield channel


async def test_call_without_token_is_unauthenticated(raw_channel: grpc.aio.Channel) -> None:
    stub = MeteringStub(raw_channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Describe(accounts_pb2.DescribeRequest(), timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "WAVIS_SERVICE_TOKEN" in (caught.value.details() or "")


async def test_wrong_token_is_unauthenticated(raw_channel: grpc.aio.Channel) -> None:
    stub = MeteringStub(raw_channel)
    for value in ("Bearer " + "x" * 48, service_token(), "Bearer", ""):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.Describe(accounts_pb2.DescribeRequest(), timeout=5,
                                metadata=(("authorization", value),))
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED, value


async def test_call_with_token_succeeds(raw_channel: grpc.aio.Channel, mesh: Stack) -> None:
    stub = MeteringStub(raw_channel)
    reply = await stub.Describe(accounts_pb2.DescribeRequest(), timeout=5, metadata=(
        ("authorization", f"Bearer {service_token()}"),))
    assert reply.info.service_name == "metering"
    # open_channel adds it by itself: every caller of the mesh goes through it
    async with open_channel(metering_target(mesh)) as channel:
        reply = await accounts_pb2_grpc.AccountsServiceStub(channel).Describe(
            accounts_pb2.DescribeRequest())
    assert reply.info.service_name == "metering"


async def test_health_and_reflection_need_no_token(raw_channel: grpc.aio.Channel) -> None:
    health = health_pb2_grpc.HealthStub(raw_channel)
    reply = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(raw_channel)
    call = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
    services = [s.name async for r in call for s in r.list_services_response.service]
    assert {"wavis.metering.v1.AccountsService", "wavis.metering.v1.UsageService",
            "wavis.metering.v1.BillingService"} <= set(services)


# A method of each API that has no Describe (the process's Describe is AccountsService's).
_A_METHOD = {"wavis.metering.v1.UsageService": "GetUsage",
             "wavis.metering.v1.BillingService": "GetBudget"}


async def test_every_service_of_the_mesh_checks_the_token(mesh: Stack) -> None:
    for key, port in mesh.service_ports.items():
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
            call = reflection.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
            names = [s.name async for r in call for s in r.list_services_response.service]
            services = [n for n in names if n.startswith("wavis.")]
            assert len(services) == 1 + len(SERVICES_BY_KEY[key].more_grpc_services), names
            for service in services:  # metering answers three APIs
                method = _A_METHOD.get(service, "Describe")
                call_it = channel.unary_unary(f"/{service}/{method}",
                                              request_serializer=lambda _: b"",
                                              response_deserializer=bytes)
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await call_it(b"", timeout=5)
                assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED, service


def test_grpc_call_script(mesh: Stack) -> None:
    def run(*args: str, token: bool = True) -> subprocess.CompletedProcess[str]:
        extra = () if token else ("--token", "not-the-token-" + "x" * 32)
        return subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "grpc_call.py"), *extra,
             metering_target(mesh), *args],
            capture_output=True, text=True, timeout=60, check=False)

    listed = run()
    assert listed.returncode == 0, listed.stderr
    assert "wavis.metering.v1.AccountsService" in listed.stdout.split()
    described = run("wavis.metering.v1.AccountsService")
    assert "rpc Describe(wavis.metering.v1.DescribeRequest)" in described.stdout
    reply = run("wavis.metering.v1.AccountsService/Describe", "{}")
    assert reply.returncode == 0, reply.stderr
    assert json.loads(reply.stdout)["info"]["service_name"] == "metering"
    refused = run("wavis.metering.v1.AccountsService/Describe", "{}", token=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith("UNAUTHENTICATED")


async def test_production_requires_the_token(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAVIS_SERVICE_TOKEN", raising=False)
    monkeypatch.setattr(service_auth, "_process_token", None)
    settings = ServiceSettings(environment="production", data_dir=tmp_path, grpc_port=0)
    runner = GrpcServiceRunner(SLOW, settings, lifespan)
    with pytest.raises(SettingsError, match="WAVIS_SERVICE_TOKEN is required in production"):
        await runner.start()
    assert not (tmp_path / "secrets").exists()
    good = ServiceSettings(environment="production", data_dir=tmp_path,
                           service_token="t" * 40)
    assert service_token(good) == "t" * 40


# ---------------------------------------------------------------------------------- mTLS


def make_pki(folder: Path) -> dict[str, Path]:
    """A self-signed CA, a server certificate for 127.0.0.1/localhost and a client one."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        return path

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("wavis-test-ca"))
          .issuer_name(name("wavis-test-ca")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    paths = {"ca": folder / "ca.pem"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for role, usage in (("server", ExtendedKeyUsageOID.SERVER_AUTH),
                        ("client", ExtendedKeyUsageOID.CLIENT_AUTH)):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(name(f"wavis-{role}"))
                .issuer_name(ca.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        paths[f"{role}_cert"] = folder / f"{role}.pem"
        paths[f"{role}_cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        paths[f"{role}_key"] = write_key(key, folder / f"{role}.key")
    return paths


async def test_mtls_requires_a_client_certificate_from_the_ca(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    settings = ServiceSettings(data_dir=tmp_path, grpc_port=0, grpc_tls_cert=pki["server_cert"],
                               grpc_tls_key=pki["server_key"], grpc_tls_ca=pki["ca"])
    runner = GrpcServiceRunner(SLOW, settings, lifespan)
    port = await runner.start()
    target = f"127.0.0.1:{port}"
    ca = pki["ca"].read_bytes()
    client = TlsFiles(pki["client_cert"].read_bytes(), pki["client_key"].read_bytes(), ca)
    try:
        async with open_channel(target, tls=client) as channel:
            echo = channel.unary_unary(f"/{SLOW.grpc_service}/EchoRequestId")
            assert isinstance(await echo(b"", timeout=5), bytes)
        # TLS without a client certificate: the handshake fails
        anonymous = grpc.ssl_channel_credentials(root_certificates=ca)
        async with grpc.aio.secure_channel(target, anonymous) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        # plaintext: refused as well
        async with grpc.aio.insecure_channel(target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            with pytest.raises(grpc.aio.AioRpcError):
                await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
        # mTLS does not replace the token: a certificate alone still gets UNAUTHENTICATED
        async with grpc.aio.secure_channel(target, client.channel_credentials()) as channel:
            echo = channel.unary_unary(f"/{SLOW.grpc_service}/EchoRequestId")
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await echo(b"", timeout=5)
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        await runner.request_stop()
