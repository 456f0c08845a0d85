"""JSON Schemas of request and response bodies (OpenAPI components), by name."""

from __future__ import annotations

from typing import Any

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
}

HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-Id": {"description": "The request's id (yours, if you sent a safe one).",
                     "schema": {"type": "string"}},
    "Retry-After": {"description": "Whole seconds to wait before retrying.",
                    "schema": {"type": "integer", "minimum": 0}},
    "Allow": {"description": "Methods the resource allows.", "schema": {"type": "string"}},
}
