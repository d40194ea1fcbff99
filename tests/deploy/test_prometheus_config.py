"""deploy/prometheus.yml and deploy/grafana/ against docker-compose.yml, without Docker:
Prometheus scrapes each service on the port and path it serves metrics on, and Grafana is
handed its data source and dashboards where its provisioning files say they are."""

from __future__ import annotations

from typing import Any

import yaml

from tests.support.repo import REPO, compose
from webhook_gateway.config.reserved import OPERATOR_PATHS

PROMETHEUS = REPO / "deploy" / "prometheus.yml"
GRAFANA = REPO / "deploy" / "grafana"
#: Where the Temporal runtime's exporter serves (scraped for real in test_dashboard.py).
SDK_METRICS_PATH = "/metrics"
#: prom/prometheus's default --web.listen-address.
PROMETHEUS_PORT = 9090


def load(path: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def jobs() -> dict[str, dict[str, Any]]:
    return {job["job_name"]: job for job in load(PROMETHEUS)["scrape_configs"]}


def mounts(service: str) -> dict[str, tuple[str, str]]:
    """Container path -> (host path, mode) of a service's bind mounts."""
    found = {}
    for volume in compose()["services"][service].get("volumes", []):
        host, container, *mode = volume.split(":")
        if host.startswith("./"):
            found[container] = (host, mode[0] if mode else "rw")
    return found


def dns_target(job: dict[str, Any]) -> tuple[str, int]:
    [sd] = job["dns_sd_configs"]
    [name] = sd["names"]
    assert sd["type"] == "A"  # one target per replica, not one name that round-robins
    return name, sd["port"]


def test_prometheus_scrapes_every_gateway_replica_on_its_port_and_metrics_path() -> None:
    gateway = compose()["services"]["gateway"]
    port = int(gateway["environment"]["HOOKTIDE_PORT"])
    [metrics] = [p.path for p in OPERATOR_PATHS if p.name == "metrics"]

    job = jobs()["hooktide-gateway"]

    assert dns_target(job) == ("gateway", port)
    assert str(port) in gateway["expose"]
    assert job["metrics_path"] == metrics


def test_prometheus_scrapes_every_worker_replica_on_its_sdk_metrics_address() -> None:
    worker = compose()["services"]["worker"]
    host, port = worker["environment"]["HOOKTIDE_WORKER_METRICS_ADDRESS"].rsplit(":", 1)

    job = jobs()["hooktide-worker"]

    assert host == "0.0.0.0"  # reachable from the prometheus container
    assert dns_target(job) == ("worker", int(port))
    assert port in worker["expose"]
    assert job["metrics_path"] == SDK_METRICS_PATH


def test_prometheus_reads_the_mounted_config_and_shares_the_apps_network() -> None:
    service = compose()["services"]["prometheus"]
    [config] = [a.split("=", 1)[1] for a in service["command"] if a.startswith("--config.file=")]

    assert mounts("prometheus")[config] == ("./deploy/prometheus.yml", "ro")
    assert service["networks"] == compose()["services"]["gateway"]["networks"] == ["hooktide"]
    assert service["ports"] == [f"127.0.0.1:{PROMETHEUS_PORT}:{PROMETHEUS_PORT}"]


def test_grafana_gets_its_provisioning_and_the_dashboards_where_the_provider_looks() -> None:
    grafana = mounts("grafana")
    [provider] = load(GRAFANA / "provisioning" / "dashboards" / "hooktide.yml")["providers"]

    assert grafana["/etc/grafana/provisioning"] == ("./deploy/grafana/provisioning", "ro")
    assert grafana[provider["options"]["path"]] == ("./deploy/grafana/dashboards", "ro")
    home = compose()["services"]["grafana"]["environment"][
        "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"
    ]
    folder, name = home.rsplit("/", 1)
    assert folder == provider["options"]["path"]
    assert (GRAFANA / "dashboards" / name).is_file()


def test_grafana_data_source_is_the_compose_prometheus() -> None:
    [source] = load(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")["datasources"]
    services = compose()["services"]

    assert source["type"] == "prometheus" and source["isDefault"] is True
    assert source["url"] == f"http://prometheus:{PROMETHEUS_PORT}"
    assert "prometheus" in services and "prometheus" in services["grafana"]["depends_on"]
    scrape = load(PROMETHEUS)["global"]["scrape_interval"]
    assert source["jsonData"]["timeInterval"] == scrape  # the rate interval spans 4 scrapes
