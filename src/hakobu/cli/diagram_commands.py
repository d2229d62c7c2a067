"""`hakobu diagram`: the architecture as configured, as Mermaid text or an SVG picture."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from hakobu.cli.app import app
from hakobu.cli.common import DEFAULT_CONFIG, ConfigOpt, EnvArg, ProfileOpt, profile_name
from hakobu.cli.context import CommandContext


class Format(StrEnum):
    mermaid = "mermaid"
    svg = "svg"


@app.command(rich_help_panel="Provision")
def diagram(
    env_name: EnvArg = None,
    output_format: Annotated[
        Format | None,
        typer.Option(
            "--format",
            "-f",
            help="mermaid (text for Markdown, as in the guide) or svg (drawn with Graphviz). "
            "Default: svg when --output ends in .svg, else mermaid.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file instead of stdout."),
    ] = None,
    profile: ProfileOpt = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Draw the architecture this configuration creates, like the guide's diagram: the VPC
    and its subnets, NAT Gateways, ALB, ECS tasks, database and managed services, with the
    AWS names. Nothing is called in AWS; the SVG needs Graphviz's `dot`."""
    from hakobu.provision.diagram import architecture, render_svg, to_mermaid
    from hakobu.provision.what_if import environment_and_file

    ctx = CommandContext(config, env_name)
    env, _ = environment_and_file(config, env_name, profile_name(profile))
    chosen = output_format or _format_for(output)
    graph = architecture(env)
    text = render_svg(graph) if chosen is Format.svg else to_mermaid(graph)
    if output is None:
        ctx.consoles.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    ctx.err.print(f"Wrote {output} ({chosen.value}) for {env.app} ({env.name}).")


def _format_for(output: Path | None) -> Format:
    if output is not None and output.suffix.lower() == ".svg":
        return Format.svg
    return Format.mermaid
