"""The series a Prometheus text exposition holds, named as Prometheus will store them.

Read from the raw lines, not through `prometheus_client.parser`: that parser renames a
counter's samples to `<name>_total` whether or not the exporter wrote the suffix (the
Temporal SDK's exporter does not), so it would hide the very difference a query depends on.
"""

from __future__ import annotations

import re

NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")

#: Sample name -> every label name seen on it.
Series = dict[str, set[str]]


def series(text: str) -> Series:
    found: Series = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = NAME.match(line)
        if match is None:
            raise ValueError(f"not a sample line: {line!r}")
        labels = found.setdefault(match.group(), set())
        if line[match.end() : match.end() + 1] == "{":
            labels |= _label_names(line, match.end() + 1)
    return found


def _label_names(line: str, pos: int) -> set[str]:
    """Label names of `{a="x",b="y\\"z"}` starting after its "{"."""
    names: set[str] = set()
    while True:
        while line[pos] in " ,":
            pos += 1
        if line[pos] == "}":
            return names
        key = NAME.match(line, pos)
        if key is None or line[key.end() : key.end() + 2] != '="':
            raise ValueError(f"bad labels in {line!r}")
        names.add(key.group())
        pos = key.end() + 2
        while line[pos] != '"':
            pos += 2 if line[pos] == "\\" else 1
        pos += 1
