"""Typed settings read from the environment once, at start, failing fast on bad values.

Each process declares a frozen dataclass whose fields carry their environment variable,
parser and meaning (`setting(...)`); `load_settings` reads them all and reports every bad
value at once. `describe_settings` feeds docs/configuration.md (scripts/gen_config_doc.py).
"""

from __future__ import annotations

import dataclasses
import os
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from wavis.core.mesh import SERVICES

T = TypeVar("T")
Parser = Callable[[str], Any]
P = TypeVar("P", bound=Callable[[str], Any])


class SettingsError(ValueError):
    """One or more environment variables hold unusable values."""


def setting(env: str, default: Any, parse: Parser = str, *, doc: str,
            shown_default: str | None = None) -> Any:
    """Declare a settings field read from `env`, parsed by `parse`, else `default`.

    `doc` is the meaning docs/configuration.md gives it; `shown_default` describes a default
    computed at import (e.g. from the machine's core count) in words."""
    return dataclasses.field(default=default, metadata={
        "env": env, "parse": parse, "doc": doc, "shown_default": shown_default})


def load_settings(cls: type[T], environ: Mapping[str, str] | None = None) -> T:
    """Build `cls` from the environment; raise SettingsError naming every bad variable."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        env_name = field.metadata.get("env")
        if env_name is None or env_name not in environ:
            continue
        raw = environ[env_name]
        try:
            values[field.name] = field.metadata["parse"](raw)
        except (ValueError, TypeError) as exc:
            problems.append(f"{env_name}={raw!r}: {exc}")
    if problems:
        raise SettingsError("invalid configuration: " + "; ".join(problems))
    settings = cls(**values)
    check = getattr(settings, "validate", None)
    if check is not None:
        check()
    return settings


@dataclasses.dataclass(frozen=True)
class SettingDoc:
    """One setting as docs/configuration.md shows it."""

    name: str  # the field
    env: str
    accepts: str  # what the variable may hold, e.g. "integer 0-65535"
    default: Any
    shown_default: str | None
    doc: str


# Parser -> what it accepts, in words, for the parsers declared here (others fall back to
# the field's type).
_ACCEPTS: weakref.WeakKeyDictionary[Callable[..., Any], str] = weakref.WeakKeyDictionary()


def accepting(text: str, parse: P) -> P:
    """Note what `parse` accepts, in words (docs/configuration.md's "accepts" column)."""
    _ACCEPTS[parse] = text
    return parse


def describe_settings(cls: type) -> list[SettingDoc]:
    """Every environment-read field of a settings class, in declaration order."""
    rows = []
    for field in dataclasses.fields(cls):
        if "env" not in field.metadata:
            continue
        parse = field.metadata["parse"]
        accepts = _ACCEPTS.get(parse) or _type_words(str(field.type))
        rows.append(SettingDoc(field.name, field.metadata["env"], accepts, field.default,
                               field.metadata.get("shown_default"), field.metadata["doc"]))
    return rows


def _type_words(annotation: str) -> str:
    base = annotation.removesuffix(" | None")
    words = {"str": "text", "int": "integer", "float": "number", "bool": "true or false",
             "Path": "path"}.get(base)
    if words is None:
        words = "list" if base.startswith("tuple") else "JSON" if base.startswith("dict") \
            else base
    return words


# Parsers: each raises ValueError with a sentence a human can act on.

def parse_int(low: int, high: int) -> Parser:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"expected a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise ValueError(f"expected a whole number from {low} to {high}")
        return value

    return accepting(f"integer {low}-{high}", parse)


def parse_float(low: float, high: float) -> Parser:
    def parse(raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise ValueError(f"expected a number from {low} to {high}") from None
        if not low <= value <= high:
            raise ValueError(f"expected a number from {low} to {high}")
        return value

    return accepting(f"number {_number(low)}-{_number(high)}", parse)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def parse_choice(*choices: str) -> Parser:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value

    return accepting(" | ".join(choices), parse)


def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def parse_path(raw: str) -> Path:
    if not raw.strip():
        raise ValueError("expected a path")
    return Path(raw.strip()).expanduser()


def parse_nonempty(raw: str) -> str:
    if not raw.strip():
        raise ValueError("must not be empty")
    return raw.strip()


def parse_redis_url(raw: str) -> str:
    value = raw.strip()
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("expected a redis://, rediss:// or unix:// URL")
    return value


def parse_target(raw: str) -> str:
    """A gRPC target: host:port, or a URI such as dns:///keys:50051."""
    value = raw.strip()
    if not value or (":" not in value):
        raise ValueError("expected host:port or a gRPC URI like dns:///keys:50051")
    return value


def _parse_secret(raw: str) -> str:
    from wavis.core.secrets import parse_secret  # secrets imports this module

    return parse_secret(raw)


_ACCEPTS.update({
    parse_bool: "true or false", parse_path: "path", parse_nonempty: "text",
    parse_redis_url: "Redis URL", parse_target: "gRPC target", _parse_secret: "secret",
})


def _default_target(key: str) -> str:
    port = next(service.default_port for service in SERVICES if service.key == key)
    return f"127.0.0.1:{port}"


@dataclasses.dataclass(frozen=True)
class CommonSettings:
    """What every WAVIS process reads."""

    environment: str = setting(
        "WAVIS_ENVIRONMENT", "development", parse_choice("development", "production"),
        doc="development generates missing secrets and allows local shortcuts; production does not",
    )
    data_dir: Path = setting(
        "WAVIS_DATA_DIR", Path("var"), parse_path,
        doc="Redis data, blob store and generated development secrets",
    )
    redis_url: str = setting(
        "WAVIS_REDIS_URL", "redis://127.0.0.1:6379/0", parse_redis_url,
        doc="Redis holding shared state (make run starts one and sets this)",
    )
    log_level: str = setting(
        "WAVIS_LOG_LEVEL", "info", parse_choice("debug", "info", "warning", "error"),
        doc="log threshold",
    )
    log_format: str = setting(
        "WAVIS_LOG_FORMAT", "json", parse_choice("json", "text"),
        doc="json: one JSON object a line with request_id and trace_id",
    )
    traces_exporter: str = setting(
        "OTEL_TRACES_EXPORTER", "none", parse_choice("none", "console", "otlp"),
        doc="where OpenTelemetry spans go (otlp reads OTEL_EXPORTER_OTLP_ENDPOINT)",
    )
    omp_num_threads: int = setting(
        "OMP_NUM_THREADS", 1, parse_int(1, 256),
        doc="OpenMP threads per FHE worker; set explicitly in every process",
    )
    redis_timeout_seconds: float = setting(
        "WAVIS_REDIS_TIMEOUT_SECONDS", 2.0, parse_float(0.05, 60),
        doc="connect and command timeout for Redis",
    )

    keys_target: str = setting("WAVIS_KEYS_TARGET", _default_target("keys"), parse_target,
                               doc="where the keys service listens")
    tfhe_eval_target: str = setting("WAVIS_TFHE_EVAL_TARGET", _default_target("tfhe_eval"),
                                    parse_target, doc="where the tfhe-eval service listens")
    ckks_compute_target: str = setting(
        "WAVIS_CKKS_COMPUTE_TARGET", _default_target("ckks_compute"), parse_target,
        doc="where the ckks-compute service listens")
    metering_target: str = setting("WAVIS_METERING_TARGET", _default_target("metering"),
                                   parse_target, doc="where the metering service listens")
    webhooks_target: str = setting("WAVIS_WEBHOOKS_TARGET", _default_target("webhooks"),
                                   parse_target, doc="where the webhooks service listens")
    inference_target: str = setting("WAVIS_INFERENCE_TARGET", _default_target("inference"),
                                    parse_target, doc="where the inference service listens")
    stripe_api_key: str | None = setting(
        "WAVIS_STRIPE_API_KEY", None, parse_nonempty,
        doc="Stripe secret key (sk_...); unset: Stripe is not configured and health omits it")
    stripe_api_base: str = setting(
        "WAVIS_STRIPE_API_BASE", "https://api.stripe.com", parse_nonempty,
        doc="Stripe API base URL (tests point it at a local fake)")
    stripe_webhook_secret: str | None = setting(
        "WAVIS_STRIPE_WEBHOOK_SECRET", None, parse_nonempty,
        doc="signing secret (whsec_...) verifying POST /billing/stripe_webhook")
    jpy_per_usd: float = setting("WAVIS_JPY_PER_USD", 150.0, parse_float(0.01, 100_000),
                                 doc="JPY per USD for cost_jpy")
    service_token: str | None = setting(
        "WAVIS_SERVICE_TOKEN", None, _parse_secret,
        doc="shared credential of internal gRPC calls (authorization: Bearer); required in "
            "production, generated into <data dir>/secrets in development")
    grpc_tls_cert: Path | None = setting(
        "WAVIS_GRPC_TLS_CERT", None, parse_path,
        doc="PEM certificate for mTLS inside the mesh (with _KEY and _CA; unset: plaintext)")
    grpc_tls_key: Path | None = setting("WAVIS_GRPC_TLS_KEY", None, parse_path,
                                        doc="PEM private key of WAVIS_GRPC_TLS_CERT")
    grpc_tls_ca: Path | None = setting(
        "WAVIS_GRPC_TLS_CA", None, parse_path,
        doc="PEM CA that signs every mesh certificate; servers require client certificates")
    grpc_keepalive_seconds: float = setting(
        "WAVIS_GRPC_KEEPALIVE_SECONDS", 30.0, parse_float(1, 3600),
        doc="how often gRPC channels ping their servers; the servers' ping policy is derived "
            "from it (wavis.core.grpc_keepalive), so set the same value on every process")

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def service_targets(self) -> dict[str, str]:
        """Service key -> gRPC target, for every service of the mesh."""
        return {service.key: getattr(self, f"{service.key}_target") for service in SERVICES}



@dataclasses.dataclass(frozen=True)
class ServiceSettings(CommonSettings):
    """What every gRPC service reads, on top of CommonSettings."""

    grpc_host: str = setting(
        "WAVIS_GRPC_HOST", "127.0.0.1", parse_nonempty,
        doc="address the gRPC server binds (0.0.0.0 in containers)",
    )
    grpc_port: int | None = setting(
        "WAVIS_GRPC_PORT", None, parse_int(0, 65535),
        doc="gRPC port; 0 picks a free one; unset: the service's default port",
    )
    ready_file: Path | None = setting(
        "WAVIS_READY_FILE", None, parse_path,
        doc="when set, the bound port is written here as JSON once serving (used by make run)",
    )
    shutdown_delay_seconds: float = setting(
        "WAVIS_SHUTDOWN_DELAY_SECONDS", 0.0, parse_float(0, 300),
        doc="after SIGTERM, answer health NOT_SERVING this long before refusing new calls",
    )
    shutdown_grace_seconds: float = setting(
        "WAVIS_SHUTDOWN_GRACE_SECONDS", 8.0, parse_float(0, 600),
        doc="after refusing new calls, how long in-flight calls may take to finish",
    )
    grpc_max_receive_bytes: int = setting(
        "WAVIS_GRPC_MAX_RECEIVE_BYTES", 4 * 1024 * 1024, parse_int(1024, 1024 ** 3),
        doc="largest gRPC message the service accepts",
    )
    metrics_port: int | None = setting(
        "WAVIS_METRICS_PORT", None, parse_int(0, 65535),
        doc="HTTP port serving Prometheus /metrics (RED per gRPC method); unset: off, 0: free",
    )
