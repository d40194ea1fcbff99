"""Hooktide's activities: every step that talks to the outside world."""
