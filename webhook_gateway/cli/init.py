"""`hooktide init DIR`: a small project of one's own — a route file with rules, a workflow
plug-in, a test with the testing kit, a pyproject depending on hooktide, a Makefile with
the project's two commands, a README. Existing files are never overwritten."""

from __future__ import annotations

import argparse
import base64
import keyword
import re
import secrets
import string
from importlib import resources
from pathlib import Path
from typing import Any

from webhook_gateway.cli.output import Output
from webhook_gateway.contracts.errors import ConfigError

#: Top-level names Hooktide installs (or that would shadow something): a project's package
#: may not take them.
TAKEN = frozenset({"workflows", "activities", "worker", "webhook_gateway", "tests", "examples"})
#: Template file → where it goes in the project (`{package}` is the project's package).
FILES = {
    "hooktide.yaml": "hooktide.yaml",
    "workflows.py": "{package}/workflows.py",
    "test_signups.py": "tests/test_signups.py",
    "pyproject.toml": "pyproject.toml",
    "Makefile": "Makefile",
    "README.md": "README.md",
}


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "init",
        help="write a new project in DIR: route file, workflow plug-in, test, pyproject",
        description="Write a small project in DIR (created if needed): hooktide.yaml with a "
        "Standard Webhooks route and rules, PACKAGE/workflows.py (a worker plug-in), "
        "tests/test_signups.py (the testing kit), pyproject.toml, Makefile, README.md. "
        "Existing files are never overwritten.",
    )
    parser.add_argument("dir")
    parser.add_argument("--package", help="the Python package's name (default: from DIR)")
    parser.set_defaults(func=run)


def package_name(directory: Path, given: str | None) -> str:
    name = given or re.sub(r"[^0-9a-zA-Z_]+", "_", directory.resolve().name).strip("_").lower()
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ConfigError(
            f"'{name}' is not a Python package name; pass --package NAME (letters, digits, _)."
        )
    if name in TAKEN:
        raise ConfigError(
            f"The package may not be called '{name}': Hooktide installs (or the project uses) a "
            f"top-level '{name}' already; pass --package NAME, e.g. --package {name}_app."
        )
    return name


def render(directory: Path, package: str) -> dict[Path, str]:
    values = {
        "project": directory.resolve().name,
        "package": package,
        "env_prefix": package.upper(),
        "dev_secret": "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
    }
    templates = resources.files("webhook_gateway.cli") / "templates" / "project"
    return {
        directory / target.format(package=package): string.Template(
            (templates / f"{source}.tmpl").read_text(encoding="utf-8")
        ).substitute(values)
        for source, target in FILES.items()
    }


def run(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    package = package_name(directory, args.package)
    files = render(directory, package)
    existing = sorted(str(path) for path in files if path.exists())
    if existing:
        raise ConfigError(
            f"Not writing into {directory}: {', '.join(existing)} already exist(s); "
            "hooktide init never overwrites a file. Choose an empty or new directory."
        )
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (directory / package / "__init__.py").touch()
    out = Output()
    out.line(f"Wrote {len(files) + 1} files in {directory}:", "green")
    for path in sorted(files):
        out.line(f"  {path.relative_to(directory)}")
    out.line(f"\nNext: cd {directory} && make test   (then make run)")
    return 0
