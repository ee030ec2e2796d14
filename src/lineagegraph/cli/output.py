"""Printing answers: rich tables for people, JSON for programs, Markdown for pull requests."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["Format", "Section", "emit", "markdown_table"]

# The width of tables written to a pipe or a file: wide enough that no name is folded
# across lines, so grep, cut and awk see each row whole.
PIPED_WIDTH = 100_000


class Format(StrEnum):
    """How a command prints its answer."""

    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


class Section:
    """A titled table of rows (one list of cell texts per row) with notes under it."""

    def __init__(
        self,
        title: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        notes: Sequence[str] = (),
        empty: str = "nothing",
    ) -> None:
        self.title = _shown(title)
        self.columns = list(columns)
        self.rows = [[_shown(_text(c)) for c in row] for row in rows]
        self.notes = [_shown(note) for note in notes]
        self.empty = empty


# Control characters in a name (an ESC, a newline) are shown escaped: printed as they
# are, a name from an event could recolour or clear the terminal, or split a row in two.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_CONTROLS.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})


def _shown(text: str) -> str:
    """``text`` with its control characters written as escapes (``\\x1b``, ``\\n``)."""
    return text.translate(_CONTROLS)


def _console() -> Console:
    """A console that prints names as they are: no markup (a name such as ``x[/b]`` is
    text, not a style tag), and, on a pipe or file without ``COLUMNS``, no folding."""
    console = Console(soft_wrap=False, markup=False)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console = Console(soft_wrap=False, markup=False, width=PIPED_WIDTH)
    return console


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    return str(value)


def _cell(text: str) -> str:
    """Text that is safe inside a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = [
        "| " + " | ".join(_cell(c) for c in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    lines.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows)
    return "\n".join(lines)


def emit(
    fmt: Format,
    data: Any,
    sections: Sequence[Section],
    heading: str = "",
    markdown: str | None = None,
) -> None:
    """Print ``data`` as JSON, or ``sections`` as rich tables or Markdown.

    ``markdown`` replaces the generated Markdown when the engine writes its own
    (the impact report does).
    """
    if fmt is Format.JSON:
        click.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
        return
    if fmt is Format.MARKDOWN:
        if markdown is not None:
            click.echo(markdown.rstrip("\n"))
            return
        parts = [f"## {_shown(heading)}"] if heading else []
        for section in sections:
            parts.append(f"### {section.title}")
            parts.append(
                markdown_table(section.columns, section.rows) if section.rows else section.empty
            )
            parts.extend(f"_{note}_" for note in section.notes)
        click.echo("\n\n".join(parts))
        return
    console = _console()
    if heading:
        console.print(Text(_shown(heading), style="bold"), highlight=False)
    for section in sections:
        if not section.rows:
            console.print(f"{section.title}: {section.empty}", highlight=False)
        else:
            table = Table(title=section.title, title_justify="left")
            for column in section.columns:
                table.add_column(column, overflow="fold")
            for row in section.rows:
                table.add_row(*row)
            console.print(table)
        for note in section.notes:
            console.print(note, style="italic", highlight=False)
