"""Hooktide's webhook gateway: verified HTTP requests become durable Temporal workflows."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
