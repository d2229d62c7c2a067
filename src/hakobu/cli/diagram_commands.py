"""`hakobu diagram`: the architecture as configured, as Mermaid text or an SVG picture."""

from __future__ import annotations

import sys
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from hakobu.cli.app import ConfigOpt, EnvArg, app, environment, err
from hakobu.cli.provisioning import Profile
from hakobu.core.config import CONFIG_FILE, Environment, with_profile
from hakobu.provision.diagram import architecture, render_svg, to_mermaid


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
    profile: Annotated[
        Profile | None,
        typer.Option(help="Draw the environment as if hakobu.toml said profile = P."),
    ] = None,
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """Draw the architecture this configuration creates, like the guide's diagram: the VPC
    and its subnets, NAT Gateways, ALB, ECS tasks, database and managed services, with the
    AWS names. Nothing is called in AWS; the SVG needs Graphviz's `dot`."""
    env = _environment(config, env_name, profile.value if profile else None)
    chosen = output_format or _format_for(output)
    graph = architecture(env)
    text = render_svg(graph) if chosen is Format.svg else to_mermaid(graph)
    if output is None:
        sys.stdout.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    err.print(f"Wrote {output} ({chosen.value}) for {env.app} ({env.name}).")


def _format_for(output: Path | None) -> Format:
    if output is not None and output.suffix.lower() == ".svg":
        return Format.svg
    return Format.mermaid


def _environment(config: Path, env_name: str | None, profile: str | None) -> Environment:
    """The environment as the file says, or as it would be with another profile."""
    env = environment(config, env_name)  # the file's own errors come first, as written
    if profile is None:
        return env
    raw = tomllib.loads(config.read_text(encoding="utf-8"))
    return with_profile(raw, env, profile)
