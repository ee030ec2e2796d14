"""The ``lineagegraph`` command: one group, with subcommands from sibling modules."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from pydantic import ValidationError

from lineagegraph import __version__
from lineagegraph.cli.client import not_empty, open_service
from lineagegraph.config import invalid_settings
from lineagegraph.store.graphml import graphml_lines

store_option = click.option(
    "--store",
    "store_url",
    envvar="LINEAGEGRAPH_STORE",
    default=None,
    callback=not_empty,
    help="Store URL: memory://, sqlite:///path/to/lineage.db or bolt://host:7687 "
    "(default: the embedded file under the user's data directory) [env LINEAGEGRAPH_STORE].",
)


class _Commands(click.Group):
    """The command group: a setting that does not parse ends a command with what is wrong."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; a bad ``LINEAGEGRAPH_*`` value is an error, not a traceback."""
        try:
            return super().invoke(ctx)
        except ValidationError as error:
            message = invalid_settings(error)
            if message is None:
                raise
            raise click.ClickException(message) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lineagegraph")
def main() -> None:
    """Lineage and impact analysis for data and ML teams."""


@main.command()
@store_option
def demo(store_url: str | None) -> None:
    """Load the demo scenario (a shop's data and ML platform) into a store."""
    from lineagegraph.demo import scenario

    service = open_service(store_url)
    try:
        for changeset in scenario():
            service.apply(changeset)
        counts = service.stats()
    finally:
        service.close()
    click.echo(f"demo loaded into {service.store.url}: {counts.nodes} nodes, {counts.edges} edges")


@main.command()
@store_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "graphml"]),
    default="json",
    show_default=True,
    help="json: {nodes, edges} as stored; graphml: for Gephi, yEd or networkx.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="File to write (default, or -: stdout).",
)
def export(store_url: str | None, fmt: str, output: str | None) -> None:
    """Export the whole graph."""
    service = open_service(store_url, create=False)
    try:
        nodes, edges = service.store.export()
        if fmt == "json":
            payload = {
                "nodes": [n.model_dump(mode="json") for n in nodes],
                "edges": [e.model_dump(mode="json") for e in edges],
            }
            text = json.dumps(payload, indent=2, sort_keys=True)
        else:
            text = "\n".join(graphml_lines(nodes, edges))
    finally:
        service.close()
    if output and output != "-":
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
        except OSError as error:
            raise click.ClickException(
                f"cannot write {output}: {error.strerror or error}"
            ) from None
    else:
        sys.stdout.write(text + "\n")


from lineagegraph.cli.serve import serve  # noqa: E402  (subcommands register after the group)

main.add_command(serve)

from lineagegraph.cli.ingest import ingest  # noqa: E402

main.add_command(ingest)

from lineagegraph.cli.query import COMMANDS as QUERY_COMMANDS  # noqa: E402

for _command in QUERY_COMMANDS:
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    main()
