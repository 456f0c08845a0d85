"""Static checks of k8s/ (kustomize base and dev overlay) without a cluster: the properties
the mesh relies on (probes, resources, non-root, graceful-shutdown budget, headless gRPC
Services, NetworkPolicies, secrets)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from support.deploy import (
    BASE,
    DEV,
    GRPC_SERVICES,
    K8S,
    PROCESSES,
    SECRET_KEYS,
    base_objects,
    config_data,
    load_docs,
    yaml_files,
)


def test_k8s_tree_has_yaml_files() -> None:
    names = {p.relative_to(K8S).as_posix() for p in yaml_files()}
    assert "base/kustomization.yaml" in names
    assert "overlays/dev/kustomization.yaml" in names


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: p.relative_to(K8S).as_posix())
def test_every_document_has_api_version_kind_and_name(path: Path) -> None:
    docs = load_docs(path)
    assert docs, f"{path} holds no YAML document"
    for doc in docs:
        assert isinstance(doc, dict), f"{path}: a document is not a mapping"
        assert doc.get("apiVersion"), f"{path}: document without apiVersion"
        assert doc.get("kind"), f"{path}: document without kind"
        assert (doc.get("metadata") or {}).get("name"), f"{path}: {doc['kind']} without a name"


def test_base_is_namespace_free() -> None:
    for path in sorted(BASE.glob("*.yaml")):
        for doc in load_docs(path):
            assert doc["kind"] != "Namespace", f"{path}: the base must not create a Namespace"
            assert "namespace" not in doc.get("metadata", {}), f"{path}: namespace in the base"
    assert "namespace" not in load_docs(BASE / "kustomization.yaml")[0]


def kustomization_references(path: Path) -> list[str]:
    (kust,) = load_docs(path)
    refs = list(kust.get("resources", [])) + list(kust.get("components", []))
    refs += [p["path"] for p in kust.get("patches", []) if "path" in p]
    refs += list(kust.get("patchesStrategicMerge", []))
    refs += [p["path"] for p in kust.get("patchesJson6902", []) if "path" in p]
    return refs


@pytest.mark.parametrize(
    "path",
    [p for p in yaml_files() if p.name == "kustomization.yaml"],
    ids=lambda p: p.relative_to(K8S).as_posix(),
)
def test_kustomization_lists_only_existing_files(path: Path) -> None:
    refs = kustomization_references(path)
    assert refs, f"{path} lists nothing"
    for ref in refs:
        target = (path.parent / ref).resolve()
        assert target.exists(), f"{path} lists {ref}, which does not exist"
        if target.is_dir():
            assert (target / "kustomization.yaml").is_file(), f"{ref} is not a kustomization"


def test_base_kustomization_lists_every_base_file() -> None:
    listed = set(kustomization_references(BASE / "kustomization.yaml"))
    on_disk = {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert on_disk <= listed, f"base files not in kustomization.yaml: {on_disk - listed}"


# ---------------------------------------------------------------------------- Deployments


def all_deployments() -> list[tuple[Path, dict[str, Any]]]:
    return [
        (path, doc)
        for path in yaml_files()
        for doc in load_docs(path)
        if doc.get("kind") == "Deployment"
    ]


def test_one_deployment_per_process() -> None:
    deployments = base_objects("Deployment")
    assert set(deployments) == set(PROCESSES)
    for name, dep in deployments.items():
        labels = dep["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == name
        assert labels["app.kubernetes.io/part-of"] == "wavis"
        assert dep["metadata"]["labels"]["app.kubernetes.io/part-of"] == "wavis"
        selector = dep["spec"]["selector"]["matchLabels"]
        assert selector.items() <= labels.items(), f"{name}: selector does not match its pods"
        (container,) = dep["spec"]["template"]["spec"]["containers"]
        assert container["image"] == f"wavis-{name}", "Tilt replaces images by these names"


@pytest.mark.parametrize(
    "path,dep",
    all_deployments(),
    ids=lambda v: v.name if isinstance(v, Path) else v["metadata"]["name"],
)
def test_deployment_containers_are_probed_limited_and_non_root(
    path: Path, dep: dict[str, Any]
) -> None:
    name = dep["metadata"]["name"]
    pod = dep["spec"]["template"]["spec"]
    assert pod.get("terminationGracePeriodSeconds", 30) > 25, name
    pod_sc = pod.get("securityContext", {})
    assert pod_sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", name
    mounts_by_volume = {v["name"]: v for v in pod.get("volumes", [])}
    for container in pod["containers"]:
        where = f"{path.name}: {name}/{container['name']}"
        assert "readinessProbe" in container, f"{where}: no readinessProbe"
        assert "livenessProbe" in container, f"{where}: no livenessProbe"
        resources = container.get("resources", {})
        for part in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources.get(part, {})), f"{where}: {part}"
        sc = container.get("securityContext", {})
        assert sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True, where
        assert sc.get("runAsUser", pod_sc.get("runAsUser")) == 10001, where
        assert sc.get("allowPrivilegeEscalation") is False, where
        assert sc.get("readOnlyRootFilesystem") is True, where
        assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
        tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
        assert tmp and "emptyDir" in mounts_by_volume[tmp[0]["name"]], f"{where}: /tmp"
        env_from = {
            ref_kind: ref["name"]
            for item in container.get("envFrom", [])
            for ref_kind, ref in item.items()
        }
        assert env_from == {"configMapRef": "wavis-config", "secretRef": "wavis-secrets"}, where


def test_grpc_deployments_probe_their_own_port() -> None:
    for name, dep in base_objects("Deployment").items():
        port = PROCESSES[name][1]
        (container,) = dep["spec"]["template"]["spec"]["containers"]
        if port is None:  # the gateway: HTTP probes
            assert container["readinessProbe"]["httpGet"]["path"] == "/api/v1/health/ready"
            assert container["livenessProbe"]["httpGet"]["path"] == "/api/v1/health/live"
            continue
        assert container["ports"][0]["containerPort"] == port, name
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        assert env.get("WAVIS_GRPC_PORT") == str(port), name
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["grpc"]["port"] == port, f"{name}: {probe}"


def test_grace_period_covers_shutdown_delay_and_drain() -> None:
    data = config_data()
    budget = float(data["WAVIS_SHUTDOWN_DELAY_SECONDS"]) + float(
        data["WAVIS_SHUTDOWN_GRACE_SECONDS"]
    )
    for name, dep in base_objects("Deployment").items():
        grace = dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace > budget, f"{name}: {grace}s does not cover delay + grace ({budget}s)"


def test_compute_services_autoscale_on_cpu() -> None:
    hpas = base_objects("HorizontalPodAutoscaler")
    assert set(hpas) == {"tfhe-eval", "ckks-compute"}
    for name, hpa in hpas.items():
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        (metric,) = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
        assert metric["resource"]["target"]["averageUtilization"] == 70
        # the HPA owns the replica count
        assert "replicas" not in base_objects("Deployment")[name]["spec"], name


def test_keys_mounts_the_blob_volume() -> None:
    keys = base_objects("Deployment")["keys"]["spec"]["template"]["spec"]
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in keys["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert "wavis-blobs" in base_objects("PersistentVolumeClaim")
    mounts = {m["mountPath"]: m["name"] for m in keys["containers"][0]["volumeMounts"]}
    assert claims[mounts["/var/lib/wavis/blobs"]] == "wavis-blobs"


# ------------------------------------------------------------------------------- Services


def test_grpc_services_are_headless() -> None:
    services = base_objects("Service")
    grpc = {
        name: svc
        for name, svc in services.items()
        if any(
            p.get("name") == "grpc" or p.get("appProtocol") == "grpc" for p in svc["spec"]["ports"]
        )
    }
    assert set(grpc) == set(GRPC_SERVICES)
    for name, svc in grpc.items():
        assert svc["spec"].get("clusterIP") == "None", f"{name} must be headless"
        (port,) = svc["spec"]["ports"]
        assert port["port"] == GRPC_SERVICES[name]


def test_gateway_service_maps_80_to_8080() -> None:
    svc = base_objects("Service")["gateway"]
    assert svc["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert svc["spec"].get("clusterIP") != "None"
    (port,) = svc["spec"]["ports"]
    assert port["port"] == 80
    container = base_objects("Deployment")["gateway"]["spec"]["template"]["spec"]["containers"][0]
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert named.get(port["targetPort"], port["targetPort"]) == 8080


def test_redis_is_a_persistent_statefulset_behind_a_headless_service() -> None:
    redis = base_objects("StatefulSet")["redis"]
    assert redis["spec"]["serviceName"] == "redis"
    (container,) = redis["spec"]["template"]["spec"]["containers"]
    assert container["image"].startswith("redis:7")
    args = container.get("args", []) + container.get("command", [])
    assert args[args.index("--appendonly") + 1] == "yes"
    assert redis["spec"]["volumeClaimTemplates"], "Redis needs a PVC"
    assert base_objects("Service")["redis"]["spec"]["clusterIP"] == "None"


def test_the_ciphertext_cache_has_a_redis_without_aof_reached_only_by_ckks_compute() -> None:
    cache = base_objects("StatefulSet")["redis-ciphertexts"]
    (container,) = cache["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert args[args.index("--appendonly") + 1] == "no"
    assert args[args.index("--save") + 1:args.index("--save") + 3] == ["300", "1"]
    assert args[args.index("--maxmemory-policy") + 1] == "volatile-lru"
    maxmemory_mb = int(args[args.index("--maxmemory") + 1].removesuffix("mb"))
    limit_gi = int(container["resources"]["limits"]["memory"].removesuffix("Gi"))
    assert maxmemory_mb < limit_gi * 1024 * 0.7, "room for the snapshot fork"
    assert base_objects("Service")["redis-ciphertexts"]["spec"]["clusterIP"] == "None"
    assert config_data()["WAVIS_CIPHERTEXT_REDIS_URL"] == "redis://redis-ciphertexts:6379/0"
    policy = base_objects("NetworkPolicy")["redis-ciphertexts-ingress"]
    assert policy["spec"]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "redis-ciphertexts"}
    (rule,) = policy["spec"]["ingress"]
    (peer,) = rule["from"]
    names = [e for e in peer["podSelector"]["matchExpressions"]
             if e["key"] == "app.kubernetes.io/name"]
    assert names == [{"key": "app.kubernetes.io/name", "operator": "In",
                      "values": ["ckks-compute"]}]


# --------------------------------------------------------------------- config and secrets


def test_configmap_holds_the_shared_environment() -> None:
    data = config_data()
    assert all(isinstance(v, str) for v in data.values()), "ConfigMap values must be strings"
    expected = {
        "WAVIS_ENVIRONMENT": "production",
        "WAVIS_REDIS_URL": "redis://redis:6379/0",
        "WAVIS_DATA_DIR": "/var/lib/wavis",
        "OMP_NUM_THREADS": "1",
        "WAVIS_LOG_FORMAT": "json",
        "OTEL_TRACES_EXPORTER": "none",
        "WAVIS_GRPC_HOST": "0.0.0.0",
        "WAVIS_HTTP_HOST": "0.0.0.0",
    }
    assert expected.items() <= data.items()
    for name, port in GRPC_SERVICES.items():
        var = "WAVIS_" + name.upper().replace("-", "_") + "_TARGET"
        assert data[var] == f"dns:///{name}:{port}", var
    assert not SECRET_KEYS & set(data), "secrets belong in the Secret"


def test_secret_has_placeholders_for_every_secret() -> None:
    secret = base_objects("Secret")["wavis-secrets"]
    assert set(secret.get("stringData", {})) == SECRET_KEYS


def test_dev_overlay_settings() -> None:
    (kust,) = load_docs(DEV / "kustomization.yaml")
    assert kust["namespace"] == "wavis-dev"
    assert {i["name"] for i in kust["images"]} == {f"wavis-{n}" for n in PROCESSES}
    counts = {r["name"]: r["count"] for r in kust["replicas"]}
    assert all(counts.get(name) == 1 for name in PROCESSES), counts
    text = (DEV / "kustomization.yaml").read_text()
    assert re.search(r"WAVIS_ENVIRONMENT:\s*development", text)
    assert re.search(r"WAVIS_WEBHOOK_ALLOW_PRIVATE:\s*\"true\"", text)


# ------------------------------------------------------------------------ NetworkPolicies


SCRAPE_POLICY = "prometheus-scrape-ingress"
PROMETHEUS_LABEL = {"app.kubernetes.io/name": "prometheus"}
METRICS_PORT = 9090


def test_network_policies() -> None:
    policies = list(base_objects("NetworkPolicy").values())
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and "ingress" not in p["spec"]]
    assert deny and deny[0]["spec"]["policyTypes"] == ["Ingress"], "no default-deny ingress"

    def selects(policy: dict[str, Any], name: str) -> bool:
        sel = policy["spec"]["podSelector"]
        if sel.get("matchLabels", {}).get("app.kubernetes.io/name") == name:
            return True
        return any(
            e["key"] == "app.kubernetes.io/name" and e["operator"] == "In" and name in e["values"]
            for e in sel.get("matchExpressions", [])
        )

    gateway = [p for p in policies if selects(p, "gateway")]
    assert gateway and all("from" not in rule for rule in gateway[0]["spec"]["ingress"])
    assert [p["port"] for p in gateway[0]["spec"]["ingress"][0]["ports"]] == [8080]

    mesh_policies = [p for p in policies if p["metadata"]["name"] != SCRAPE_POLICY]
    for name, port in {**GRPC_SERVICES, "redis": 6379}.items():
        (policy,) = [p for p in mesh_policies if selects(p, name)]
        for rule in policy["spec"]["ingress"]:
            assert rule.get("from"), f"{name}: ingress open to everything"
            for peer in rule["from"]:
                assert set(peer) == {"podSelector"}, f"{name}: only pods of this namespace"
                sel = peer["podSelector"]
                part_of = sel.get("matchLabels", {}).get("app.kubernetes.io/part-of") or next(
                    (
                        e["values"]
                        for e in sel.get("matchExpressions", [])
                        if e["key"] == "app.kubernetes.io/part-of"
                    ),
                    None,
                )
                assert part_of in ("wavis", ["wavis"]), f"{name}: peers must be wavis pods"
        ports = {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]}
        assert port in ports, f"{name}: port {port} not allowed"


# -------------------------------------------------------------------------------- Metrics


def _container(name: str) -> dict[str, Any]:
    (container,) = base_objects("Deployment")[name]["spec"]["template"]["spec"]["containers"]
    return container


def test_every_process_exposes_metrics_to_prometheus() -> None:
    for name, (_, port) in PROCESSES.items():
        dep = base_objects("Deployment")[name]
        annotations = dep["spec"]["template"]["metadata"].get("annotations", {})
        container = _container(name)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        scrape_port = METRICS_PORT if port is not None else 8080
        assert annotations.get("prometheus.io/scrape") == "true", name
        assert annotations.get("prometheus.io/port") == str(scrape_port), name
        assert annotations.get("prometheus.io/path") == "/metrics", name
        if port is None:  # the gateway serves /metrics on its HTTP port
            assert ports.get("http") == 8080
            assert "WAVIS_METRICS_PORT" not in env
        else:
            assert ports.get("metrics") == METRICS_PORT, name
            assert env.get("WAVIS_METRICS_PORT") == str(METRICS_PORT), name
    assert "WAVIS_METRICS_PORT" not in config_data(), "set per service, not for the gateway"


def test_prometheus_may_scrape_every_process() -> None:
    policy = base_objects("NetworkPolicy")[SCRAPE_POLICY]
    selector = policy["spec"]["podSelector"]
    selected = {e["key"]: e["values"] for e in selector["matchExpressions"]}
    assert selected["app.kubernetes.io/part-of"] == ["wavis"]
    assert set(selected["app.kubernetes.io/name"]) == set(PROCESSES)
    (rule,) = policy["spec"]["ingress"]
    (peer,) = rule["from"]
    assert peer == {"namespaceSelector": {}, "podSelector": {"matchLabels": PROMETHEUS_LABEL}}
    assert {(p["protocol"], p["port"]) for p in rule["ports"]} == {
        ("TCP", METRICS_PORT), ("TCP", 8080)}
