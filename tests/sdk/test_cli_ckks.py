"""`wavis keys` and `wavis ckks` against the real stack: a blind CKKS key made here, uploaded,
vectors from JSON and CSV encrypted here, computed on the server, decrypted here; server-mode
keys; usage; errors with their exit codes and request ids."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cli_support import Wavis
from sdk_support import new_tenant

from wavis.devstack.stack import Stack

PRECISION = 1e-3  # testing parameters, N=2048, scale 2^40: far better than this


@pytest.fixture(scope="module")
def wavis(mesh: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wavis]:
    tenant = new_tenant(mesh, plan="enterprise")  # its burst window fits a test's calls
    yield Wavis(mesh.gateway_url, tenant.api_key, tmp_path_factory.mktemp("wavis-ckks"))


@pytest.fixture(scope="module")
def key_folder(wavis: Wavis) -> Path:
    folder = wavis.home / "ckks-key"
    made = wavis.json("keys", "generate", "ckks", "--local", "--out", str(folder),
                      "--poly-degree", "2048", "--scale-bits", "40", "--max-depth", "3",
                      "--security-level", "testing", "--rotations", "1,-1")
    assert made["folder"] == str(folder) and made["secret_key_mode"] == "0o600"
    assert "secret_key.bin" in made["files"] and "eval_rotation_keys.bin" in made["files"]
    assert stat.S_IMODE((folder / "secret_key.bin").stat().st_mode) == 0o600
    uploaded = wavis.json("keys", "upload", str(folder))
    assert uploaded["mode"] == "blind" and uploaded["params"]["poly_degree"] == 2048
    assert json.loads((folder / "wavis-key.json").read_text())["key_id"] == uploaded["key_id"]
    return folder


def test_blind_ckks_from_json_and_csv_to_decrypted_results(wavis: Wavis,
                                                           key_folder: Path) -> None:
    key_id = json.loads((key_folder / "wavis-key.json").read_text())["key_id"]
    listed = wavis.json("keys", "list")
    assert [k["key_id"] for k in listed] == [key_id] and listed[0]["mode"] == "blind"

    vectors = wavis.home / "vectors.json"
    vectors.write_text(json.dumps([[1.5, 2.0, -0.5], [2.0, 4.0, 4.0]]))
    (x, y) = wavis.json("ckks", "encrypt", str(vectors), "--key", str(key_folder))["ciphertexts"]
    assert x["key_id"] == key_id and x["values"] == 3
    table = wavis.home / "column.csv"
    table.write_text("0.25\n0.5\n0.75\n")
    (z,) = wavis.json("ckks", "encrypt", str(table), "--key", str(key_folder))["ciphertexts"]

    product = wavis.json("ckks", "compute", "multiply", x["ciphertext_id"], y["ciphertext_id"],
                         "--key", str(key_folder))
    assert product["operation"] == "multiply" and product["cost_units"] == 5
    decrypted = wavis.json("ckks", "decrypt", product["result_ciphertext_id"], "--key",
                           str(key_folder), "--length", "3")
    assert np.allclose(decrypted["values"], [3.0, 8.0, -2.0], atol=PRECISION)

    # A key given by id, a plaintext operand inline, a rotation: people's output this time.
    shifted = wavis.run("ckks", "compute", "add-plain", z["ciphertext_id"], "--key", key_id,
                        "--plain", "1,1,1")
    result_id = shifted.stdout.split()[0]
    assert result_id.startswith("ct_") and "FCU" in shifted.stdout
    rotated = wavis.json("ckks", "compute", "rotate", result_id, "--key", str(key_folder),
                         "--steps", "1")
    values = wavis.run("ckks", "decrypt", rotated["result_ciphertext_id"], "--key",
                       str(key_folder), "--length", "2", "--csv").stdout.split()
    assert np.allclose([float(v) for v in values], [1.5, 1.75], atol=PRECISION)

    # Values from the command line, asynchronously (submitted, then waited for).
    (w,) = wavis.json("ckks", "encrypt", "--values", "2,3", "--key",
                      str(key_folder))["ciphertexts"]
    squared = wavis.json("ckks", "compute", "multiply", w["ciphertext_id"], w["ciphertext_id"],
                         "--key", str(key_folder), "--async")
    assert np.allclose(wavis.json("ckks", "decrypt", squared["result_ciphertext_id"], "--key",
                                  str(key_folder), "--length", "2")["values"], [4, 9],
                       atol=PRECISION)


def test_usage_by_day_and_by_operation(wavis: Wavis, key_folder: Path) -> None:
    (x,) = wavis.json("ckks", "encrypt", "--values", "1,2", "--key",
                      str(key_folder))["ciphertexts"]
    wavis.json("ckks", "compute", "negate", x["ciphertext_id"], "--key", str(key_folder))
    report = wavis.json("usage")
    assert report["total_fcu"] >= 1 and report["by_operation"]["negate"]["count"] >= 1
    (today,) = [day for day in report["by_day"] if day["fcu"] == report["total_fcu"]]
    chart = wavis.run("usage").stdout
    assert "FCU by day" in chart and "By operation" in chart and "negate" in chart
    (bar_line,) = [line for line in chart.splitlines() if line.startswith(today["date"][5:])]
    assert "█" * 40 in bar_line  # the only day with usage has the longest bar


def test_server_mode_keys_and_deletion(wavis: Wavis) -> None:
    tfhe = wavis.json("keys", "generate", "tfhe", "--preset", "toy")
    assert tfhe["mode"] == "server" and tfhe["status"] == "ready" and tfhe["preset"] == "toy"
    ckks = wavis.run("keys", "generate", "ckks", "--poly-degree", "2048", "--max-depth", "1",
                     "--security-level", "testing", "--rotations", "")
    ckks_id = ckks.stdout.split()[0]
    assert ckks_id.startswith("key_") and "server ready" in ckks.stdout
    assert "below 128-bit security" in ckks.stderr
    wavis.run("keys", "delete", tfhe["key_id"], input="n\n", expect=1)  # declined: kept
    assert wavis.json("keys", "delete", tfhe["key_id"], ckks_id, "--yes") == {
        "deleted": [tfhe["key_id"], ckks_id]}
    ids = [k["key_id"] for k in wavis.json("keys", "list")]
    assert tfhe["key_id"] not in ids and ckks_id not in ids


def test_errors_print_code_and_request_id_and_exit_by_family(wavis: Wavis,
                                                             key_folder: Path) -> None:
    missing = wavis.run("ckks", "decrypt", "ct_doesnotexist000000000", "--key",
                        str(key_folder), expect=5)
    assert "CIPHERTEXT_NOT_FOUND" in missing.stderr
    assert "HTTP 404" in missing.stderr and "request_id req_" in missing.stderr
    assert missing.stdout == ""
    as_json = json.loads(wavis.run("--json", "keys", "delete", "key_doesnotexist00000000",
                                   "--yes", expect=5).stdout)
    assert as_json["exit_code"] == 5 and as_json["error"]["http_status"] == 404
    assert as_json["error"]["request_id"].startswith("req_")
    (x,) = wavis.json("ckks", "encrypt", "--values", "1", "--key",
                      str(key_folder))["ciphertexts"]
    invalid = wavis.run("ckks", "compute", "rotate", x["ciphertext_id"], "--key",
                        str(key_folder), "--steps", "5", expect=6)  # no key for 5 steps
    assert "request_id req_" in invalid.stderr
    bad_file = wavis.home / "bad.csv"
    bad_file.write_text("1,two,3\n")
    local = wavis.run("ckks", "encrypt", str(bad_file), "--key", str(key_folder), expect=1)
    assert "every CSV cell must be a number" in local.stderr
    usage = wavis.run("ckks", "compute", "add", x["ciphertext_id"], "--key", "k", expect=2)
    assert "add takes 2 ciphertext id(s)" in usage.stderr
