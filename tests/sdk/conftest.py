"""Fixtures of the SDK's tests against a real stack: an account, an SDK client on the shared
mesh, local keys made once per session, and a stack of their own for what the mesh cannot
show (small upload parts, webhooks to loopback)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import wavis_sdk
from sdk_support import new_tenant, sdk_client
from wavis_sdk.ckks import CkksKeys
from wavis_sdk.tfhe import TfheKeys

from support.accounts import Tenant
from wavis.devstack.stack import Stack

UPLOAD_PART_BYTES = 1024 * 1024  # the smallest part size a deployment may set


@pytest.fixture(scope="session")
def tenant(mesh: Stack) -> Tenant:
    return new_tenant(mesh)


@pytest.fixture
def client(mesh: Stack, tenant: Tenant, tmp_path: Path) -> Iterator[wavis_sdk.Client]:
    with sdk_client(mesh, tenant, tmp_path / "state") as made:
        yield made


@pytest.fixture(scope="session")
def ckks_keys() -> CkksKeys:
    """Small, fast and insecure (testing level); depth 3 leaves room for poly-eval."""
    return CkksKeys.generate(poly_degree=2048, scale_bits=40, max_depth=3,
                             security_level="testing")


@pytest.fixture(scope="session")
def tfhe_keys() -> TfheKeys:
    return TfheKeys.generate("toy")


@pytest.fixture(scope="session")
def tfhe_3_keys() -> TfheKeys:
    """The insecure three-input preset (AND3, OR3, MAJORITY)."""
    return TfheKeys.generate("toy_3")


@pytest.fixture(scope="session")
def own_stack(make_stack: Callable[..., Stack]) -> Stack:
    """1 MiB upload parts (a toy key is many parts) and webhooks to loopback allowed."""
    return make_stack(env={"WAVIS_UPLOAD_PART_BYTES": str(UPLOAD_PART_BYTES),
                           "WAVIS_WEBHOOK_ALLOW_PRIVATE": "true",
                           "WAVIS_WEBHOOK_RETRY_SCHEDULE": "0.3,0.3,0.3"})
