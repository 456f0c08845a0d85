"""The SDK cannot import the server, so it declares what it must agree with (parameter
ranges, refusal words, presets, limits, the signature scheme, error families, endpoints);
these tests read the server's own declarations and fail when the two drift apart."""

from __future__ import annotations

import inspect
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomli
import wavis_sdk
from wavis_sdk import (
    _async_client,
    _client,
    _core,
    _errors,
    _inference_ops,
    _ops,
    ckks,
    program,
    tfhe,
    webhooks,
)

from gateway.app import ENDPOINTS
from gateway.routes import compute as compute_routes
from gateway.settings import GatewaySettings
from wavis.core import ckks_programs, tfhe_catalog
from wavis.core import webhook_signing as signing
from wavis.core.errors import ERROR_CODES, WavisError
from wavis.core.limits import MAX_BATCH_GATES, MAX_CIPHERTEXT_BYTES
from wavis.fhe import ckks_keys, ckks_params, tfhe_keys

ROOT = Path(__file__).resolve().parents[2]


def test_ckks_parameter_ranges_are_the_servers() -> None:
    assert ckks.SECURITY_LEVELS == ckks_params.SECURITY_LEVELS
    assert ckks.SECURE_POLY_DEGREES == ckks_params.SECURE_POLY_DEGREES
    assert ckks.TESTING_POLY_DEGREES == ckks_params.TESTING_POLY_DEGREES
    assert ckks.SCALE_BITS_RANGE == ckks_params.SCALE_BITS_RANGE
    assert ckks.MAX_DEPTH_RANGE == ckks_params.MAX_DEPTH_RANGE
    assert ckks.CIPHERTEXT_HEADER_BYTES == ckks_params.CIPHERTEXT_HEADER_BYTES
    assert set(ckks.KEY_FILES.values()) | {ckks.SECRET_FILE} == set(ckks_keys.KEY_FILES.values())
    for scale in range(20, 61):
        assert ckks.first_mod_bits(scale) == ckks_params.first_mod_bits(scale)
    for slots in (512, 1024, 4096, 16384):
        assert ckks.default_rotations(slots) == ckks_params.default_rotations(slots)


BAD_PARAMS = [
    *itertools.product((512, 1024, 2048, 3000, 4096, True), (40,), (2,), ("128-bit", "testing")),
    *itertools.product((8192,), (19, 20, 60, 61, 40.5), (1,), ("128-bit",)),
    *itertools.product((8192,), (40,), (0, 1, 14, 15, 30, 31), ("128-bit",)),
    *itertools.product((16384, 32768), (50,), (2, 3, 6, 7), ("128-bit",)),
    (8192, 40, 1, "512-bit"), (8192, 40, 1, "Testing"),
]


@pytest.mark.parametrize("values", BAD_PARAMS)
def test_local_validation_refuses_in_the_servers_words(values: tuple) -> None:
    server_error = sdk_error = None
    try:
        ckks_params.validate_ckks_params(ckks_params.CkksParams(*values))
    except WavisError as error:
        server_error = (error.code, error.message, error.details)
    try:
        ckks.validate_params(ckks.CkksParams(*values))
    except wavis_sdk.ValidationError as error:
        sdk_error = (error.code, error.message, error.details)
    assert sdk_error == server_error


SERVER_GENERATE = """
import json, sys, tempfile
from wavis.core.errors import WavisError
from wavis.fhe.ckks_keys import generate_ckks_key
from wavis.fhe.ckks_params import CkksParams
try:
    generate_ckks_key(CkksParams(*json.loads(sys.argv[1])), [1], "key_sdk", tempfile.mkdtemp())
    print(json.dumps(None))
except WavisError as error:
    print(json.dumps([error.code, error.message, error.details]))
"""


@pytest.mark.parametrize("values", [(8192, 50, 5, "128-bit"), (4096, 40, 3, "128-bit"),
                                    (16384, 59, 30, "128-bit"), (1024, 60, 1, "testing")])
def test_openfhe_refusals_in_the_servers_words(values: tuple) -> None:
    # The server's generator clears OpenFHE's process-wide maps: it runs in a child.
    server = subprocess.run([sys.executable, "-c", SERVER_GENERATE, json.dumps(values)],
                            capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": f"{ROOT / 'libs'}", "OMP_NUM_THREADS": "1"})
    assert server.returncode == 0, server.stderr
    expected = json.loads(server.stdout)
    assert expected is not None, "the server accepted these parameters: pick others"
    with pytest.raises(wavis_sdk.ValidationError) as refused:
        ckks.CkksKeys.generate(*values, rotations=[1])
    assert [refused.value.code, refused.value.message, refused.value.details] == expected


def test_limits_and_presets_are_the_servers() -> None:
    assert tfhe.PRESETS == {p.name: (p.paramset, p.method) for p in tfhe_catalog.PRESETS}
    assert tfhe.THREE_INPUT_PRESETS == {p.name for p in tfhe_catalog.PRESETS if p.three_input}
    assert {op: (spec.inputs, spec.plaintext_modulus, spec.three_input)
            for op, spec in tfhe.GATES.items()} == {
        g.op: (g.inputs, g.plaintext_modulus, g.three_input) for g in tfhe_catalog.GATES}
    assert tfhe.STANDARD_MODULUS == tfhe_catalog.STANDARD_MODULUS
    for preset in tfhe.PRESETS:
        assert tfhe.moduli_for_preset(preset) == tfhe_catalog.moduli_for_preset(preset)
    default_body_limit = GatewaySettings.__dataclass_fields__["max_request_bytes"].default
    assert _core.MAX_REQUEST_BYTES == default_body_limit
    assert ckks.MAX_CIPHERTEXT_BYTES == MAX_CIPHERTEXT_BYTES
    assert tfhe.MAX_BATCH_GATES == MAX_BATCH_GATES
    assert (tfhe.CONTEXT_FILE, tfhe.BOOTSTRAP_KEY_FILE) == (
        tfhe_keys.KEY_FILES["context"], tfhe_keys.KEY_FILES["bootstrap_key"])


def test_program_limits_are_the_servers() -> None:
    assert program.MAX_PROGRAM_STEPS == ckks_programs.MAX_PROGRAM_STEPS
    assert program.STEP_REF_PREFIX == ckks_programs.STEP_REF_PREFIX


def test_webhook_signatures_are_the_servers() -> None:
    assert (webhooks.SIGNATURE_HEADER, webhooks.TIMESTAMP_HEADER, webhooks.EVENT_ID_HEADER) == (
        signing.SIGNATURE_HEADER, signing.TIMESTAMP_HEADER, signing.EVENT_ID_HEADER)
    body = signing.event_body("evt_1", "test", "2026-01-01T00:00:00Z", {"message": "hi"})
    secret = signing.new_secret()
    assert webhooks.signature(secret, "1767225600", body) == signing.sign(secret, "1767225600",
                                                                          body)


def test_every_error_code_lands_in_its_family() -> None:
    families = {400: wavis_sdk.ValidationError, 413: wavis_sdk.ValidationError,
                422: wavis_sdk.ValidationError, 401: wavis_sdk.AuthenticationError,
                402: wavis_sdk.QuotaError, 403: wavis_sdk.PermissionDeniedError,
                404: wavis_sdk.NotFoundError, 409: wavis_sdk.ConflictError,
                429: wavis_sdk.RateLimitError, 500: wavis_sdk.UpstreamError,
                502: wavis_sdk.UpstreamError, 503: wavis_sdk.UpstreamError,
                405: wavis_sdk.WavisError, 501: wavis_sdk.WavisError}
    for code, entry in ERROR_CODES.items():
        body = json.dumps({"error": {"code": code, "message": entry.message,
                                     "request_id": "req_1", "details": {}}}).encode()
        error = _errors.error_from_response(entry.http_status, {}, body)
        assert type(error) is families[entry.http_status], code
        assert (error.code, error.http_status, error.request_id) == (code, entry.http_status,
                                                                      "req_1")


def test_the_sdk_pins_the_servers_openfhe() -> None:
    def openfhe_pin(pyproject: Path) -> str:
        dependencies = tomli.loads(pyproject.read_text())["project"]["dependencies"]
        return next(d for d in dependencies if d.startswith("openfhe"))

    assert openfhe_pin(ROOT / "sdk/python/pyproject.toml") == openfhe_pin(ROOT / "pyproject.toml")
    assert wavis_sdk.__version__ in _core.USER_AGENT


# Endpoints the SDK leaves out on purpose: probes and documents for operators and tools, the
# by-design 501, Stripe's own receiver, POST /compute (the same as /compute/{operation}) and
# revoking a trial key by prefix.
NOT_IN_THE_SDK = {("GET", "/health/live"), ("GET", "/health/ready"), ("GET", "/openapi.json"),
                  ("POST", "/decrypt"), ("POST", "/billing/stripe_webhook"), ("POST", "/compute"),
                  ("DELETE", "/onboarding/temp-key/{key_prefix}")}


def test_every_endpoint_has_a_method() -> None:
    source = "".join(inspect.getsource(module) for module in (_ops, _client, _inference_ops))
    for endpoint in ENDPOINTS:
        if (endpoint.method, endpoint.path) in NOT_IN_THE_SDK:
            continue
        # "/keys/{key_id}" is written f"/keys/{...}" in the SDK (operations by parameter).
        pattern = re.sub(r"\\\{\w+\\\}", r"\\{[^}]+\\}", re.escape(endpoint.path))
        pattern = pattern.replace(r"\{[^}]+\}", r"(\{[^}]+\}|\{operation\})")
        assert re.search(f'"{pattern}"', source), (endpoint.method, endpoint.path)


def test_every_compute_operation_has_a_method() -> None:
    for operation in compute_routes.OPERATIONS:
        name = operation.replace("-", "_")
        assert callable(getattr(_client.Compute, name)), operation
        assert callable(getattr(_async_client.AsyncCompute, name)), operation


def test_the_cli_offers_every_compute_operation() -> None:
    from wavis_sdk.cli import _ckks

    assert set(_ckks.COMPUTE_OPERATIONS) == set(compute_routes.OPERATIONS)
