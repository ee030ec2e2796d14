"""The Makefile's ``make help`` against the README's table of make targets."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_make_help_lists_every_target_the_readme_names() -> None:
    # The targets with a digit in their name (neo4j, neo4j-build, neo4j-stop) and the
    # two-name "venv install" were left out of `make help`.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Make targets", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"^\| `make ([a-z0-9-]+)`", table, re.MULTILINE))
    named |= set(re.findall(r"^\| `make [a-z0-9-]+` / `make ([a-z0-9-]+)`", table, re.MULTILINE))
    assert {"serve", "neo4j", "neo4j-stop"} <= named
    shown = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    listed = {name for line in shown.splitlines() for name in line.split("\t", 1)[0].split()}
    assert named <= listed, sorted(named - listed)
    assert {"venv", "install", "neo4j-build"} <= listed
