"""docs/security.md states what server-mode decryption gives: its settings table carries the
settings' defaults, and its precision table the figures wavis.fhe.ckks_decryption computes
from them for each parameter set it lists."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from services.ckks_compute.settings import CkksSettings
from wavis.fhe.ckks_decryption import decryption_policy

DOC = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
PRECISION_ROW = re.compile(
    r"^\| (\d+)(?: \(testing\))? \| (\d+) \| (\d+) \| (refused|[\d.]+) \| ([\d.]*) \|$", re.M)
SETTING_ROW = re.compile(r"^\| `(WAVIS_CKKS_DECRYPTION\w*)` \| (\d+) \|", re.M)
FIELDS = {"WAVIS_CKKS_DECRYPTIONS_PER_KEY": "decryptions_per_key",
          "WAVIS_CKKS_DECRYPTION_SECURITY_BITS": "decryption_security_bits",
          "WAVIS_CKKS_DECRYPTION_MARGIN_BITS": "decryption_margin_bits"}


def _default(name: str) -> int:
    field = {f.name: f for f in dataclasses.fields(CkksSettings)}[name]
    return int(field.default)


def test_the_settings_table_gives_the_defaults() -> None:
    rows = dict(SETTING_ROW.findall(DOC))
    assert set(rows) == set(FIELDS)
    for env, name in FIELDS.items():
        assert int(rows[env]) == _default(name), env


def test_the_precision_table_is_what_decryption_publishes() -> None:
    rows = PRECISION_ROW.findall(DOC)
    assert len(rows) >= 5
    for ring, scale, admitted, precision, within in rows:
        policy = decryption_policy(
            scale_bits=int(scale), ring_dim=int(ring), slot_count=int(ring) // 2,
            budget=_default("decryptions_per_key"),
            security_bits=_default("decryption_security_bits"),
            margin_bits=_default("decryption_margin_bits"))
        assert float(admitted) == policy.admitted_bits, (ring, scale)
        if precision == "refused":  # less than a bit: the service refuses (INVALID_PARAMS)
            assert policy.precision_bits < 1 and within == "", (ring, scale)
            continue
        assert float(precision) == policy.precision_bits, (ring, scale)
        assert float(within) == float(f"{2 ** -policy.precision_bits:.2g}"), (ring, scale)
