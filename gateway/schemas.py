"""JSON Schemas of request and response bodies (OpenAPI components), by name."""

from __future__ import annotations

from typing import Any

from wavis.core.api_keys import NAME_MAX_CHARS, PREFIX_LENGTH
from wavis.core.limits import (
    CKKS_SECURE_POLY_DEGREES,
    CKKS_TESTING_POLY_DEGREES,
    MAX_CKKS_SLOTS,
    MAX_KEY_UPLOAD_BYTES,
)
from wavis.core.roles import ENVIRONMENTS, MINTED_ENVIRONMENTS, MINTED_ROLES, ROLES
from wavis.core.tfhe_catalog import PRESET_NAMES

# The protobuf types a request number lands in, as OpenAPI formats, with the values each holds:
# every integer or number a request carries names one and a range inside it
# (docs/decisions/0075-request-numbers-typed-and-bounded.md).
NUMBER_FORMATS: dict[str, tuple[float, float]] = {
    "int32": (-2 ** 31, 2 ** 31 - 1),
    "uint32": (0, 2 ** 32 - 1),
    "int64": (-2 ** 63, 2 ** 63 - 1),
    "double": (-1.7976931348623157e308, 1.7976931348623157e308),
}


def when(field: str, value: str, then: dict[str, Any]) -> dict[str, Any]:
    """A rule that applies when a body's `field` is `value` (an `if`/`then` of JSON Schema)."""
    return {"if": {"properties": {field: {"const": value}}, "required": [field]}, "then": then}


def integer(minimum: int, maximum: int, fmt: str = "int64", **extra: Any) -> dict[str, Any]:
    """An integer field of a request: its protobuf format and its range (which must fit)."""
    low, high = NUMBER_FORMATS[fmt]
    if not low <= minimum <= maximum <= high or fmt == "double":
        raise ValueError(f"[{minimum}, {maximum}] is not a range of {fmt}")
    return {"type": "integer", "format": fmt, "minimum": minimum, "maximum": maximum, **extra}


def number(minimum: float, maximum: float, **extra: Any) -> dict[str, Any]:
    """A number field of a request (a protobuf double): its finite range."""
    if not -NUMBER_FORMATS["double"][1] <= minimum <= maximum <= NUMBER_FORMATS["double"][1]:
        raise ValueError(f"[{minimum}, {maximum}] is not a finite range")
    return {"type": "number", "format": "double", "minimum": minimum, "maximum": maximum,
            **extra}


_ERROR = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "request_id", "details"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$",
                         "description": "Stable machine-readable error code."},
                "message": {"type": "string", "description": "A sentence for humans."},
                "request_id": {"type": "string",
                               "description": "Quote this in support tickets."},
                "details": {"type": "object", "description": "Code-specific facts."},
            },
        }
    },
}

_DEPENDENCY = {
    "type": "object",
    "required": ["name", "status", "latency_ms", "error"],
    "properties": {
        "name": {"type": "string", "examples": ["redis", "ckks-compute"]},
        "status": {"enum": ["up", "down"]},
        "latency_ms": {"type": "number", "minimum": 0},
        "error": {"type": ["string", "null"], "description": "Why it is down, else null."},
    },
}

_HEALTH = {
    "type": "object",
    "required": ["status", "version", "uptime_seconds", "fhe_engine", "active_sessions",
                 "active_jobs", "ciphertext_cache_usage_pct", "ciphertext_cache_warning",
                 "dependencies"],
    "properties": {
        "status": {"enum": ["healthy", "degraded", "unavailable"],
                   "description": "healthy: all up; unavailable: Redis or every service "
                                  "down; degraded: anything between."},
        "version": {"type": "string"},
        "uptime_seconds": {"type": "number", "minimum": 0},
        "fhe_engine": {"type": "string"},
        "active_sessions": {"type": "integer", "minimum": 0},
        "active_jobs": {"type": "integer", "minimum": 0},
        "ciphertext_cache_usage_pct": {"type": "number", "minimum": 0, "maximum": 100},
        "ciphertext_cache_warning": {"type": "boolean"},
        "dependencies": {"type": "array", "items": {"$ref": "#/components/schemas/Dependency"}},
    },
}

_POLY_DEGREES = CKKS_TESTING_POLY_DEGREES + CKKS_SECURE_POLY_DEGREES
_TIMESTAMP = {"type": "string", "format": "date-time", "examples": ["2026-11-23T00:00:00Z"]}
_NULLABLE_TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}
_API_KEY_PROPERTIES = {
    "prefix": {"type": "string",
               "description": f"The key's first {PREFIX_LENGTH} characters; its id."},
    "name": {"type": "string"},
    "role": {"enum": list(ROLES)},
    "environment": {"enum": list(ENVIRONMENTS)},
    "created_at": _TIMESTAMP,
    "last_used_at": _NULLABLE_TIMESTAMP,
    "expires_at": {**_NULLABLE_TIMESTAMP,
                   "description": "When the key stops working (trial and rotated keys)."},
}
_API_KEY_REQUIRED = ["prefix", "name", "role", "environment", "created_at", "last_used_at",
                     "expires_at"]


def _page_of(item_schema: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["data", "has_more", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": {"$ref": f"#/components/schemas/{item_schema}"}},
            "has_more": {"type": "boolean"},
            "next_cursor": {"type": ["string", "null"],
                            "description": "Pass as ?cursor= for the next page."},
        },
    }


SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _ERROR,
    "Dependency": _DEPENDENCY,
    "Health": _HEALTH,
    "Liveness": {
        "type": "object", "required": ["status", "uptime_seconds"],
        "properties": {"status": {"const": "live"}, "uptime_seconds": {"type": "number"}},
    },
    "Readiness": {
        "type": "object", "required": ["status"],
        "properties": {"status": {"const": "ready"}},
    },
    "OpenApiDocument": {"type": "object", "required": ["openapi", "paths"]},
    "ApiKeyCreateRequest": {
        "type": "object",
        "required": ["role", "environment"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "maxLength": NAME_MAX_CHARS},
            "role": {"type": "string", "enum": list(MINTED_ROLES)},
            "environment": {"type": "string", "enum": list(MINTED_ENVIRONMENTS),
                            "description": "test keys are never charged through Stripe."},
        },
    },
    "ApiKey": {"type": "object", "required": _API_KEY_REQUIRED,
               "properties": _API_KEY_PROPERTIES},
    "ApiKeyCreated": {
        "type": "object",
        "required": ["api_key", *_API_KEY_REQUIRED],
        "properties": {"api_key": {"type": "string",
                                   "pattern": f"^wvs_({'|'.join(MINTED_ENVIRONMENTS)})_",
                                   "description": "Shown only this once."},
                       **_API_KEY_PROPERTIES},
    },
    "ApiKeyList": _page_of("ApiKey"),
    "RotatedApiKey": {
        "type": "object",
        "required": ["new_api_key", "old_key_prefix", "grace_period_ends_at", "environment"],
        "properties": {
            "new_api_key": {"type": "string", "description": "Shown only this once."},
            "new_key_prefix": {"type": "string"},
            "old_key_prefix": {"type": "string"},
            "grace_period_ends_at": {**_TIMESTAMP,
                                     "description": "The old key works until then."},
            "environment": {"enum": list(MINTED_ENVIRONMENTS)},
        },
    },
    "KeyGenerateRequest": {
        "type": "object",
        "required": ["scheme"],
        "additionalProperties": False,
        "allOf": [when("scheme", "ckks", {"required": ["params"]}),
                  when("scheme", "tfhe", {"required": ["preset"]})],
        "properties": {
            "scheme": {"type": "string", "enum": ["ckks", "tfhe"]},
            "params": {
                "type": "object", "additionalProperties": False,
                "required": ["poly_degree", "scale_bits", "max_depth"],
                "description": "CKKS only. Out of range -> 400 INVALID_PARAMS; parameters that "
                               "cannot reach the level -> 400 INSUFFICIENT_SECURITY.",
                "properties": {
                    "poly_degree": integer(
                        _POLY_DEGREES[0], _POLY_DEGREES[-1], enum=list(_POLY_DEGREES),
                        description=f"{' and '.join(map(str, CKKS_TESTING_POLY_DEGREES))} "
                                    "only with testing"),
                    "scale_bits": integer(20, 60),
                    "max_depth": integer(1, 30),
                    "security_level": {"type": "string", "default": "128-bit",
                                       "enum": ["128-bit", "192-bit", "256-bit", "testing"]},
                },
            },
            "rotations": {"type": "array", "items": integer(1 - MAX_CKKS_SLOTS, MAX_CKKS_SLOTS - 1),
                          "maxItems": 256,
                          "description": "CKKS rotation steps; omitted: powers of two both "
                                         "ways; []: no rotation keys."},
            "preset": {"type": "string", "enum": list(PRESET_NAMES), "description": "TFHE only."},
            "bootstrappable": {"type": "boolean", "default": False,
                               "description": "CKKS: add bootstrapping keys (scale_bits >= 55;"
                                              " max_depth = levels between bootstraps)."},
        },
    },
    "KeyUploadRequest": {
        "type": "object",
        "required": ["scheme"],
        "additionalProperties": False,
        "description": "CKKS: crypto_context, public_key and eval_mult_key are required; "
                       "TFHE: eval_key.",
        "allOf": [when("scheme", "ckks", {"required": ["crypto_context", "public_key",
                                                       "eval_mult_key"]}),
                  when("scheme", "tfhe", {"required": ["eval_key"]})],
        "properties": {
            "scheme": {"type": "string", "enum": ["ckks", "tfhe"]},
            "eval_key": {"type": "string", "contentEncoding": "base64",
                         "description": "TFHE: a stored ZIP of context.bin and "
                                        "bootstrap_key.bin."},
            "crypto_context": {"type": "string", "contentEncoding": "base64",
                               "description": "Serialize(cc, BINARY)"},
            "public_key": {"type": "string", "contentEncoding": "base64"},
            "eval_mult_key": {"type": "string", "contentEncoding": "base64",
                              "description": "SerializeEvalMultKeyString(BINARY, tag)"},
            "eval_rotation_keys": {"type": "string", "contentEncoding": "base64",
                                   "description": "SerializeEvalAutomorphismKeyString"},
        },
    },
    "KeyUploadCreateRequest": {
        "type": "object",
        "required": ["scheme", "kind", "size_bytes", "sha256"],
        "additionalProperties": False,
        "allOf": [when("scheme", "tfhe", {"properties": {"kind": {"const": "tfhe_eval_key"}}}),
                  when("scheme", "ckks", {"properties": {"kind": {
                      "const": "ckks_key_bundle"}}})],
        "properties": {
            "scheme": {"type": "string", "enum": ["tfhe", "ckks"]},
            "kind": {"type": "string", "enum": ["tfhe_eval_key", "ckks_key_bundle"],
                     "description": "A stored ZIP: context.bin + bootstrap_key.bin (TFHE), or "
                                    "crypto_context.bin, public_key.bin, eval_mult_key.bin "
                                    "[, eval_rotation_keys.bin] (CKKS)."},
            "size_bytes": integer(1, MAX_KEY_UPLOAD_BYTES,
                                  description="The deployment may accept less "
                                              "(400 naming its limit)."),
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        },
    },
    "KeyUpload": {
        "type": "object",
        "required": ["upload_id", "part_size", "part_count", "expires_at"],
        "properties": {"upload_id": {"type": "string"}, "part_size": {"type": "integer"},
                       "part_count": {"type": "integer"}, "expires_at": _TIMESTAMP},
    },
    "Key": {
        "type": "object",
        "required": ["key_id", "scheme", "mode", "status", "size_bytes", "security_bits",
                     "created_at"],
        "properties": {
            "key_id": {"type": "string"},
            "scheme": {"enum": ["ckks", "tfhe"]},
            "mode": {"enum": ["server", "blind"]},
            "status": {"enum": ["ready", "pending", "failed"]},
            "params": {"type": ["object", "null"]},
            "slot_count": {"type": "integer"},
            "max_level": {"type": "integer"},
            "rotations": {"type": "array", "items": {"type": "integer"}},
            "scaling_technique": {"type": ["string", "null"]},
            "bootstrappable": {"type": "boolean"},
            "preset": {"type": ["string", "null"]},
            "n": {"type": "integer"},
            "big_n": {"type": "integer"},
            "size_bytes": {"type": "integer"},
            "security_bits": {"type": "integer",
                              "description": "By OpenFHE's HE-standard tables; 0 below 128."},
            "created_at": _TIMESTAMP,
            "blind_guarantee": {"type": "string"},
            "secret_key": {"type": "string", "contentEncoding": "base64",
                           "description": "Only when WAVIS_ALLOW_SK_IN_RESPONSE=true."},
            "failure": {"type": "string"},
        },
    },
    "KeyList": _page_of("Key"),
    "TempKey": {
        "type": "object",
        "required": ["api_key", "key_prefix", "expires_at", "ops_limit", "message"],
        "properties": {
            "api_key": {"type": "string", "pattern": "^wvs_trial_"},
            "key_prefix": {"type": "string"},
            "expires_at": _TIMESTAMP,
            "ops_limit": {"type": "integer", "minimum": 1},
            "message": {"type": "string"},
        },
    },
}


def register_schemas(schemas: dict[str, dict[str, Any]]) -> None:
    """Route modules add their own body schemas here at import (before the app is built)."""
    clashing = set(schemas) & set(SCHEMAS)
    if clashing:
        raise ValueError(f"schema names already taken: {sorted(clashing)}")
    SCHEMAS.update(schemas)
