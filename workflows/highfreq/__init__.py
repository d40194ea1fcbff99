"""Workflows behind high-frequency routes: group-commit inboxes, batch and debounce collectors."""
