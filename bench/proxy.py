"""nginx in front of gateway replicas, for the scale-out benchmark: a config file in a
directory of its own, one `server` per listening port (127.0.0.1 only), each proxying to
its own upstream group with kept-alive connections, as a cluster's load balancer does."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from webhook_gateway.dev.processes import LOOPBACK

NGINX = "nginx"


def which(tool: str) -> str | None:
    """A tool on PATH, or in /usr/sbin (where Debian puts nginx, off a user's PATH)."""
    return shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")


def nginx_config(directory: Path, listeners: Mapping[int, Sequence[int]]) -> Path:
    """nginx.conf under `directory`: each listening port proxies to its gateway ports."""
    directory.mkdir(parents=True, exist_ok=True)
    upstreams, servers = [], []
    for listen, ports in listeners.items():
        members = "".join(f"    server {LOOPBACK}:{port};\n" for port in ports)
        # Idle upstream connections close before uvicorn's own 5 s keep-alive timeout does,
        # so nginx never sends a request on a connection the gateway is closing.
        upstreams.append(
            f"  upstream gateways_{listen} {{\n{members}"
            "    keepalive 256;\n    keepalive_requests 1000000;\n    keepalive_timeout 4s;\n  }\n"
        )
        servers.append(
            f"  server {{\n    listen {LOOPBACK}:{listen};\n    location / {{\n"
            f"      proxy_pass http://gateways_{listen};\n      proxy_http_version 1.1;\n"
            '      proxy_set_header Connection "";\n    }\n  }\n'
        )
    config = directory / "nginx.conf"
    config.write_text(
        "daemon off;\nworker_processes 1;\n"
        f"pid {directory / 'nginx.pid'};\nerror_log {directory / 'error.log'} warn;\n"
        "events { worker_connections 4096; }\n"
        "http {\n  access_log off;\n  keepalive_requests 1000000;\n"
        + "".join(
            f"  {kind}_temp_path {directory / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + "".join(upstreams)
        + "".join(servers)
        + "}\n",
        encoding="utf-8",
    )
    return config


def nginx_command(config: Path) -> list[str]:
    binary = which(NGINX)
    if binary is None:
        raise FileNotFoundError("nginx is missing: apt-get install -y nginx (make bench does this)")
    directory = config.parent
    return [binary, "-p", str(directory), "-c", str(config), "-e", str(directory / "error.log")]
