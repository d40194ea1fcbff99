"""Files of this repository that the tests read: the route file, compose, recorded histories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
#: Workflow histories replayed against the current code (tests.support.record_histories).
HISTORIES = REPO / "tests" / "histories"
COMPOSE = REPO / "docker-compose.yml"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data
