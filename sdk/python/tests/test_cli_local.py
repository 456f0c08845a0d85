"""`wavis` without a server: the README's commands parse, its exit-code table is the CLI's,
config files, number files, circuit files and charts."""

from __future__ import annotations

import re
import shlex
import stat
from datetime import date
from pathlib import Path

import pytest
import wavis_sdk
from click.testing import CliRunner
from wavis_sdk.cli import cli
from wavis_sdk.cli._ckks import read_numbers
from wavis_sdk.cli._config import read_config, resolve, write_config
from wavis_sdk.cli._output import EXIT_CODES, INTERRUPTED
from wavis_sdk.cli._tfhe import build_circuit
from wavis_sdk.cli._usage import bar, month_days

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_commands() -> list[list[str]]:
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(), re.S)
    lines = [line.split(" #")[0].strip() for block in blocks for line in block.splitlines()]
    return [shlex.split(line) for line in lines if line.startswith("wavis ")]


@pytest.mark.parametrize("command", _readme_commands(), ids=" ".join)
def test_every_readme_command_parses(command: list[str]) -> None:
    """Each `wavis ...` line of the README names real commands and options: with --help
    appended, click parses it all and prints the help (exit 0), where a wrong option or
    command would fail with 2."""
    if command[1:] in (["--version"], ["--help"]):
        command = command[:1]
    result = CliRunner().invoke(cli, [*command[1:], "--help"], prog_name="wavis")
    assert result.exit_code == 0, result.output


def test_the_readme_lists_the_exit_codes() -> None:
    table = dict(re.findall(r"^\| (\d+) \| (.+?) \|$", README.read_text(), re.M))
    expected = {str(code): meaning for _, code, meaning in EXIT_CODES}
    expected |= {"0": "success", "2": "a wrong command line (unknown option, missing "
                 "argument)", str(INTERRUPTED): "interrupted (Ctrl-C)"}
    assert table == expected
    # Every family of the SDK has its row.
    families = {family for family, _, _ in EXIT_CODES}
    for name in wavis_sdk.__all__:
        value = getattr(wavis_sdk, name)
        if isinstance(value, type) and issubclass(value, wavis_sdk.WavisError):
            assert any(issubclass(value, family) for family in families), name


def test_the_config_file_is_private_and_read_back(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "wavis" / "config.toml"
    write_config(path, {"api_key": 'wvs_"quoted"\\', "base_url": "http://h:1"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert read_config(path) == {"api_key": 'wvs_"quoted"\\', "base_url": "http://h:1"}
    monkeypatch.setenv("WAVIS_CONFIG_FILE", str(path))
    monkeypatch.delenv("WAVIS_API_KEY", raising=False)
    monkeypatch.delenv("WAVIS_BASE_URL", raising=False)
    found = resolve(None)
    assert (found.api_key, found.api_key_source, found.base_url) == (
        'wvs_"quoted"\\', str(path), "http://h:1")
    monkeypatch.setenv("WAVIS_API_KEY", "wvs_env")
    monkeypatch.setenv("WAVIS_BASE_URL", "http://env:2")
    found = resolve(None)
    assert (found.api_key, found.api_key_source, found.base_url) == (
        "wvs_env", "WAVIS_API_KEY", "http://env:2")
    assert resolve("http://option:3").base_url == "http://option:3"
    path.write_text("api_key = unquoted\n")
    with pytest.raises(ValueError, match=r"config\.toml:1"):
        read_config(path)
    assert read_config(tmp_path / "absent.toml") == {}


def test_numbers_from_json_and_csv() -> None:
    assert read_numbers("[1, 2.5]", "x") == [[1.0, 2.5]]
    assert read_numbers("[[1], [2, 3]]", "x.json") == [[1.0], [2.0, 3.0]]
    assert read_numbers("1,2\n3,4\n", "x.csv") == [[1.0, 2.0], [3.0, 4.0]]
    assert read_numbers("1\n2\n3\n", "x.csv") == [[1.0, 2.0, 3.0]]
    for bad in ("1,x", "", '{"a": 1}'):
        with pytest.raises(ValueError):
            read_numbers(bad, "x")


def test_circuits_from_the_file_format() -> None:
    def encrypt(bits: list[int]) -> list[bytes]:
        return [bytes([b]) for b in bits]

    circuit, outputs = build_circuit({
        "inputs": {"x": 1, "y": 0},
        "gates": [{"op": "and", "a": "x", "b": "y", "name": "both"},
                  {"op": "NOT", "a": "$0"}, {"op": "MUX", "sel": "x", "a": "both", "b": "$1"}],
    }, encrypt)
    assert [g["op"] for g in circuit.gates] == ["AND", "NOT", "MUX"]
    assert circuit.gates[1]["a"] == "$0" and circuit.gates[2]["a"] == "$0"
    assert list(outputs) == ["both"]  # named gates by default
    _, last = build_circuit({"inputs": {"x": 1}, "gates": [{"op": "NOT", "a": "x"}]}, encrypt)
    assert list(last) == ["$0"]
    for spec in ({"gates": []}, {"inputs": {"x": 2}, "gates": [{"op": "NOT", "a": "x"}]},
                 {"inputs": {"x": 1}, "gates": [{"op": "NOT", "a": "$0"}]},
                 {"inputs": {"x": 1}, "gates": [{"op": "FOO", "a": "x"}]},
                 {"inputs": {"x": 1}, "gates": [{"op": "NOT", "a": "x"}], "outputs": ["q"]}):
        with pytest.raises(wavis_sdk.ValidationError):
            build_circuit(spec, encrypt)


def test_bars_and_month_days() -> None:
    assert bar(10, 10, width=4) == "████"
    assert bar(1, 8, width=1) == "▏" and bar(0, 5) == "" and bar(3, 0) == ""
    assert len(month_days("2026-02", today=date(2026, 3, 5))) == 28
    assert month_days("2026-03", today=date(2026, 3, 5))[-1] == "2026-03-05"
