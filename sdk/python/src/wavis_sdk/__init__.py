"""WAVIS SDK: FHE as a service from Python, with the secret key on your side.

    import wavis_sdk
    from wavis_sdk.ckks import CkksKeys

    client = wavis_sdk.Client()              # WAVIS_API_KEY, WAVIS_BASE_URL
    keys = CkksKeys.generate(poly_degree=8192, scale_bits=40, max_depth=1)
    key = client.keys.upload(keys)           # public and evaluation keys only
    x = client.ciphertexts.upload(keys.encrypt([1.5, 2.0]))
    product = client.compute.multiply(key, x, x, return_ciphertext=True)
    keys.decrypt(product, length=2)          # array([2.25, 4.  ])

`AsyncClient` has the same surface for asyncio. `wavis_sdk.tfhe` holds BinFHE keys and the
circuit builder, `wavis_sdk.webhooks.verify` checks deliveries; `client.models.predict(model_id,
X)` runs a model of the catalogue on samples encrypted here (`wavis_sdk.inference` packs them).
"""

from wavis_sdk import ckks, inference, tfhe, webhooks
from wavis_sdk._async_client import AsyncClient
from wavis_sdk._client import Client
from wavis_sdk._core import DEFAULT_BASE_URL, USER_AGENT, RetryPolicy
from wavis_sdk._errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    DecryptionError,
    NotFoundError,
    OperationFailedError,
    PermissionDeniedError,
    QuotaError,
    RateLimitError,
    SignatureVerificationError,
    UpstreamError,
    ValidationError,
    WaitTimeoutError,
    WavisError,
)
from wavis_sdk._models import (
    BatchResult,
    Ciphertext,
    ComputeResult,
    Decrypted,
    GateResult,
    Key,
    OperationStatus,
    Page,
    TfheSession,
    UploadProgress,
    WavisObject,
)
from wavis_sdk._operation_handles import AsyncOperation, Operation
from wavis_sdk._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "USER_AGENT",
    "APIConnectionError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncOperation",
    "AuthenticationError",
    "BatchResult",
    "Ciphertext",
    "Client",
    "ComputeResult",
    "ConflictError",
    "Decrypted",
    "DecryptionError",
    "GateResult",
    "Key",
    "NotFoundError",
    "Operation",
    "OperationFailedError",
    "OperationStatus",
    "Page",
    "PermissionDeniedError",
    "QuotaError",
    "RateLimitError",
    "RetryPolicy",
    "SignatureVerificationError",
    "TfheSession",
    "UploadProgress",
    "UpstreamError",
    "ValidationError",
    "WaitTimeoutError",
    "WavisError",
    "WavisObject",
    "__version__",
    "ckks",
    "inference",
    "tfhe",
    "webhooks",
]
