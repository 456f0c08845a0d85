"""Process logging: JSON lines (or text) carrying request_id and trace_id."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

from opentelemetry import trace

from wavis.core.request_context import current_request_id

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# C0 and C1 controls, DEL and the Unicode line/paragraph separators: a client can put any of
# them in a path or a header, and raw in a log line they forge lines or drive terminals.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    """text with every control character spelled as a visible escape (\\x1b, \\u2028)."""
    return _CONTROLS.sub(lambda match: ascii(match.group())[1:-1], text)


def escape_lines(text: str) -> str:
    """escape_controls on each line: a traceback keeps its lines, the exception's own text
    (often from a request) does not get to add any."""
    return "\n".join(escape_controls(line) for line in text.split("\n"))


def _escaped(value: Any) -> Any:
    return escape_controls(value) if isinstance(value, str) else value


def _trace_id() -> str | None:
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None


class JsonFormatter(logging.Formatter):
    def __init__(self, process_name: str) -> None:
        super().__init__()
        self.process_name = process_name

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.process_name,
            "logger": record.name,
            "msg": escape_controls(record.getMessage()),
            "request_id": current_request_id.get(),
            "trace_id": _trace_id(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = _escaped(value)
        if record.exc_info:
            entry["exc"] = escape_lines(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self, process_name: str) -> None:
        super().__init__(f"%(asctime)s {process_name} %(levelname)s %(name)s: %(message)s")

    def formatException(self, ei: Any) -> str:
        return escape_lines(super().formatException(ei))

    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord(
            vars(record) | {"msg": escape_controls(record.getMessage()), "args": None})
        line = super().format(record)
        request_id = current_request_id.get()
        return f"{line} [{request_id}]" if request_id else line


def configure_logging(process_name: str, level: str = "info", log_format: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(process_name) if log_format == "json" else TextFormatter(process_name)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's access log repeats what our middleware logs.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
