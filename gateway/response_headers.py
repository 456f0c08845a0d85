"""The response headers the API documents, each declared once: its name, its meaning and
schema (the OpenAPI header component), whether an idempotent replay sends it again, and
whether browsers may read it (docs/decisions/0051-response-header-table.md).

The CORS expose list, the headers kept with an idempotent outcome and the OpenAPI components
are derived from `RESPONSE_HEADERS`; code that sets a header takes its name from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wavis.core.request_context import REQUEST_ID_HEADER


@dataclass(frozen=True)
class ResponseHeader:
    name: str
    description: str
    schema: dict[str, Any]
    # Describes the outcome (not this one request): stored with an idempotent outcome and
    # sent again when it is replayed.
    replayed: bool = False
    # Listed in Access-Control-Expose-Headers, so a browser client may read it.
    exposed: bool = True

    @property
    def component(self) -> dict[str, Any]:
        """Its OpenAPI header object (components/headers)."""
        return {"description": self.description, "schema": self.schema}


_STRING = {"type": "string"}

REQUEST_ID = ResponseHeader(REQUEST_ID_HEADER,
                            "The request's id (yours, if you sent a safe one).", _STRING)
RETRY_AFTER = ResponseHeader("Retry-After", "Whole seconds to wait before retrying.",
                             {"type": "integer", "minimum": 0})
IDEMPOTENT_REPLAYED = ResponseHeader(
    "Idempotent-Replayed", "true when this is the stored outcome of an earlier request with "
    "the same Idempotency-Key.", {"const": "true"})
SECURITY_WARNING = ResponseHeader("X-Security-Warning",
                                  "The parameters are below 128-bit security.", _STRING,
                                  replayed=True)
_SECURITY_WARNING_TEXT = "parameters below 128-bit security: for testing only"


def security_warning(insecure: bool) -> dict[str, str]:
    """Every response about a below-128-bit key, ciphertext or session says so."""
    return {SECURITY_WARNING.name: _SECURITY_WARNING_TEXT} if insecure else {}


RATE_LIMIT_WINDOWS = ("Daily", "Monthly", "Burst")


def rate_limit(window: str, part: str) -> str:
    """The name of a rate-limit header: ("Daily", "Remaining") -> X-RateLimit-Daily-Remaining."""
    return f"X-RateLimit-{window}-{part}"


RATE_LIMITS = tuple(  # on every authenticated response
    ResponseHeader(rate_limit(window, part), f"{window} rate limit: {meaning}.",
                   {"type": "integer"})
    for window in RATE_LIMIT_WINDOWS
    for part, meaning in (("Limit", "requests allowed in the window"),
                          ("Remaining", "requests left in the window"),
                          ("Reset", "Unix time (s) when the window starts again")))


NOISE_BUDGET_REMAINING = ResponseHeader("X-Noise-Budget-Remaining",
                                        "Percent of the key's levels left.",
                                        {"type": "number"}, replayed=True)
LOW_BUDGET_PCT = 50.0  # X-Noise-Budget-Warning is "true" below this
NOISE_BUDGET_WARNING = ResponseHeader("X-Noise-Budget-Warning",
                                      f'"true" below {LOW_BUDGET_PCT:g}%: bootstrap soon.',
                                      {"enum": ["true", "false"]}, replayed=True)
NOISE_BUDGET_RECOVERY = ResponseHeader("X-Noise-Budget-Recovery", "How to refresh the budget.",
                                       _STRING, replayed=True)
SERVER_TIMING = ResponseHeader("Server-Timing", "Where the request's time went: redis, grpc "
                               "(calls to internal services) and total, in ms.", _STRING)
# Exposed: a browser client must read where to poll after a 202.
LOCATION = ResponseHeader("Location", "Where to poll.", _STRING, replayed=True)
ALLOW = ResponseHeader("Allow", "Methods the resource allows.", _STRING, exposed=False)

RESPONSE_HEADERS = (REQUEST_ID, RETRY_AFTER, IDEMPOTENT_REPLAYED, SECURITY_WARNING,
                    *RATE_LIMITS, NOISE_BUDGET_REMAINING, NOISE_BUDGET_WARNING,
                    NOISE_BUDGET_RECOVERY, SERVER_TIMING, LOCATION, ALLOW)

# Derived: the OpenAPI header components, the CORS expose list, the replayed names.
COMPONENTS = {header.name: header.component for header in RESPONSE_HEADERS}
EXPOSED = ", ".join(header.name for header in RESPONSE_HEADERS if header.exposed)
REPLAYED = tuple(header.name for header in RESPONSE_HEADERS if header.replayed)
