"""deploy/: docker-compose and Kubernetes manifests cannot run here (no Docker, no cluster), so their structure
is checked: the services and probes an operator relies on, ports that line up, secrets and volumes that exist,
and nginx's own syntax check on the proxy config when nginx is installed."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def k8s() -> dict[str, dict]:
    docs = [d for p in sorted((DEPLOY / "k8s").glob("*.yaml")) for d in yaml.safe_load_all(p.read_text()) if d]
    assert all({"apiVersion", "kind", "metadata"} <= set(d) for d in docs)
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in docs}


def test_compose_runs_replicas_behind_nginx_on_postgres_and_redis():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"glossarian", "postgres", "redis", "nginx"}
    app = services["glossarian"]
    assert app["deploy"]["replicas"] >= 2
    env = app["environment"]
    assert env["GLOSSARIAN_REDIS_URL"].startswith("redis://redis:")
    assert "@postgres:5432/" in env["GLOSSARIAN_DATABASE_URL"]
    assert env["GLOSSARIAN_TRUSTED_PROXIES"]  # else every reader is nginx's address to the rate limit
    assert any(v.endswith(":/data/index") for v in app["volumes"]) and "index" in compose["volumes"]
    assert "/healthz" in " ".join(app["healthcheck"]["test"])
    assert set(app["depends_on"]) == {"postgres", "redis"}
    assert (DEPLOY / app["build"]["context"] / app["build"]["dockerfile"]).is_file()
    assert "./nginx.conf" in services["nginx"]["volumes"][0]


def test_nginx_retries_asks_on_another_replica_and_keeps_chats_on_one():
    conf = (DEPLOY / "nginx.conf").read_text()
    ask = re.search(r"location = /api/ask \{(.*?)\}", conf, re.S).group(1)
    assert "non_idempotent" in ask and "http_503" in ask and "proxy_next_upstream_tries 2" in ask
    assert "http_429" not in conf  # a rate-limited reader is not sent to another replica
    chat = re.search(r"upstream glossarian_chat \{(.*?)\}", conf, re.S).group(1)
    assert "ip_hash" in chat
    assert "server glossarian:7860" in conf


@pytest.mark.skipif(not shutil.which("nginx", path="/usr/sbin:/usr/bin"), reason="nginx is not installed "
                    "(scripts/test.sh installs it as root)")
def test_nginx_accepts_the_config(tmp_path):
    conf = (DEPLOY / "nginx.conf").read_text().replace("glossarian:7860", "127.0.0.1:7860")  # no compose DNS here
    (tmp_path / "site.conf").write_text(conf)
    (tmp_path / "nginx.conf").write_text(f"error_log {tmp_path}/error.log; pid {tmp_path}/nginx.pid;\n"
                                         f"events {{}}\nhttp {{ access_log off; include {tmp_path}/site.conf; }}\n")
    nginx = shutil.which("nginx", path="/usr/sbin:/usr/bin")
    run = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_kubernetes_deployment_probes_service_hpa_volume_and_secret_line_up():
    docs = k8s()
    deployment = docs["Deployment/glossarian"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= deployment["spec"]["template"]["metadata"][
        "labels"].items()
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}

    service = docs["Service/glossarian"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert all(p["targetPort"] in ports for p in service["spec"]["ports"])

    hpa = docs["HorizontalPodAutoscaler/glossarian"]
    assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "glossarian"
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]

    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]}
    assert all(f"PersistentVolumeClaim/{c}" in docs for c in claims.values())
    assert {m["mountPath"] for m in container["volumeMounts"] if m["name"] in claims} >= {"/data/index"}
    env = {e["name"]: e for e in container["env"]}
    assert env["GLOSSARIAN_INDEX"]["value"] == "/data/index"
    assert env["GLOSSARIAN_TRUSTED_PROXIES"]["value"]  # the ingress's X-Forwarded-For names the reader
    refs = [e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e]
    assert {"GLOSSARIAN_API_TOKEN", "GLOSSARIAN_DATABASE_URL"} <= set(env)
    for ref in refs:
        assert ref["key"] in docs[f"Secret/{ref['name']}"]["stringData"]
    assert docs["Job/glossarian-index-build"]["spec"]["template"]["spec"]["containers"][0]["args"][-2:] == [
        "index", "build"]
