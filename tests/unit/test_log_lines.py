"""Log lines cannot be forged: control characters from requests are escaped in both formats."""

from __future__ import annotations

import json
import logging

import pytest

from wavis.core.logging import JsonFormatter, TextFormatter

# What a client can put in a request path (percent-decoded by the server) or a header: a CR LF
# that starts a forged line, terminal escapes, DEL, C1 controls and Unicode line separators.
HOSTILE = "/api/v1/x\r\n2026-01-01 gateway INFO forged\x1b[31m\x07\x7f\x85\u2028end"
RAW_CONTROLS = ["\r", "\n", "\x1b", "\x07", "\x7f", "\x85", "\u2028"]


def access_record() -> logging.LogRecord:
    return logging.makeLogRecord({"name": "wavis.gateway.access", "levelno": logging.INFO,
                                  "levelname": "INFO", "msg": "%s %s %d",
                                  "args": ("GET", HOSTILE, 404), "duration_ms": 1.5,
                                  "user_agent": "curl\r\nforged: yes"})


@pytest.mark.parametrize("formatter", [TextFormatter("gateway"), JsonFormatter("gateway")],
                         ids=["text", "json"])
def test_control_characters_are_escaped(formatter: logging.Formatter) -> None:
    line = formatter.format(access_record())
    assert not [c for c in RAW_CONTROLS if c in line], repr(line)
    assert "\\r\\n2026-01-01 gateway INFO forged\\x1b[31m\\x07\\x7f\\x85\\u2028end" in (
        json.loads(line)["msg"] if line.startswith("{") else line)


def test_json_extras_are_escaped_too() -> None:
    entry = json.loads(JsonFormatter("gateway").format(access_record()))
    assert entry["user_agent"] == "curl\\r\\nforged: yes"
    assert entry["duration_ms"] == 1.5


def test_tracebacks_keep_their_lines() -> None:
    try:
        raise ValueError("bad\x1b[2J")
    except ValueError as exc:
        record = logging.makeLogRecord({"msg": "failed", "levelname": "ERROR",
                                        "exc_info": (type(exc), exc, exc.__traceback__)})
    line = TextFormatter("gateway").format(record)
    assert "Traceback (most recent call last):\n" in line
    assert "\x1b" not in line and "ValueError: bad\\x1b[2J" in line


def test_json_tracebacks_are_escaped_per_line() -> None:
    try:
        raise ValueError("bad\x7f")
    except ValueError as exc:
        record = logging.makeLogRecord({"msg": "failed", "levelname": "ERROR",
                                        "exc_info": (type(exc), exc, exc.__traceback__)})
    entry = json.loads(JsonFormatter("gateway").format(record))
    assert entry["exc"].startswith("Traceback (most recent call last):\n")
    assert entry["exc"].endswith("ValueError: bad\\x7f")
