"""hakobu alarms and hakobu domain status, and the edge sections of `hakobu status`.

`alarms` lists each alarm's state and why (CloudWatch's own reason), and who is told;
`domain status` says whether the certificate is issued and, with `dns = "external"`,
which records to add. The data comes from `hakobu.operate.alarms`, `.autoscaling` and
`.domain`; this module only renders it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import typer

from hakobu.cli.app import app
from hakobu.cli.common import DEFAULT_CONFIG, ConfigOpt, EnvArg, JsonOpt, SandboxOpt
from hakobu.cli.context import CommandContext

if TYPE_CHECKING:
    from rich.console import RenderableType

    from hakobu.core.config import Environment
    from hakobu.core.target import Target
    from hakobu.operate.alarms import AlarmsReport
    from hakobu.operate.autoscaling import ScalingView
    from hakobu.operate.domain import DomainStatus

domain_app = typer.Typer(help="The environment's own domain: certificate and DNS records.")
STATE_STYLES = {"OK": "green", "ALARM": "bold red", "INSUFFICIENT_DATA": "yellow"}


@app.command(rich_help_panel="Operate")
def alarms(
    env_name: EnvArg = None,
    as_json: JsonOpt = False,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Each alarm's state and reason, and the subscriptions that are told ([alarms])."""
    from hakobu.core.errors import ConfigError
    from hakobu.operate.alarms import alarms_report

    ctx = CommandContext(config, env_name, sandbox)
    env = ctx.env
    if env.settings.alarms is None:  # before any call: there is nothing to ask AWS for
        raise ConfigError(
            "alarms",
            f"{env.name!r} has no [alarms] section",
            'add [alarms] with email = ["you@example.com"] to hakobu.toml, then `hakobu up`',
        )
    report = alarms_report(env, ctx.target)
    assert report is not None
    if as_json:
        ctx.json(report.as_json(), key="alarms")
        return
    for part in alarms_screen(report):
        ctx.out.print(part)
    ctx.banner()


@domain_app.command("status")
def domain_status_command(
    env_name: EnvArg = None,
    as_json: JsonOpt = False,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """PENDING_VALIDATION or ISSUED, and the DNS records to add for dns = "external"."""
    from hakobu.operate.domain import domain_status, settings_of

    ctx = CommandContext(config, env_name, sandbox)
    settings_of(ctx.env)  # no [domain]: a config error before any call
    target = ctx.target
    status = domain_status(ctx.env, target, dataclasses.replace(target, region="us-east-1"))
    if as_json:
        ctx.json(status.as_json(), key="domain")
        return
    for part in domain_screen(status):
        ctx.out.print(part)
    ctx.banner()


app.add_typer(domain_app, name="domain", rich_help_panel="Operate")


# --- the sections `hakobu status` adds ----------------------------------------------------


def edge_status(env: Environment, target: Target) -> tuple[list[RenderableType], dict[str, Any]]:
    """Auto scaling and alarms for `status`: what to print, and the JSON keys to add."""
    from hakobu.operate.alarms import alarms_report
    from hakobu.operate.autoscaling import scaling_view

    parts: list[RenderableType] = []
    payload: dict[str, Any] = {}
    scaling = scaling_view(env, target)
    if scaling is not None:
        parts += scaling_screen(scaling)
        payload["autoscaling"] = scaling.as_json()
    report = alarms_report(env, target)
    if report is not None:
        parts += alarms_screen(report)
        payload["alarms"] = report.as_json()
    return parts, payload


# --- rendering ------------------------------------------------------------------------------


def scaling_screen(view: ScalingView) -> list[RenderableType]:
    from rich.markup import escape

    if view.minimum is None:
        return ["Auto scaling: not registered yet (run `hakobu up`)"]
    state = " (suspended while paused)" if view.suspended else ""
    lines: list[RenderableType] = [
        f"Auto scaling: {view.minimum} to {view.maximum} tasks, target tracking{state}"
    ]
    if not view.activities:
        lines.append("  no scaling activity yet")
    for activity in view.activities:
        lines.append(
            f"  {activity.started}  {escape(activity.description)}  {activity.status}"
            f"  ({escape(activity.cause)})"
        )
    return lines


def alarms_screen(report: AlarmsReport) -> list[RenderableType]:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Alarms", title_justify="left", show_edge=False, pad_edge=False)
    for column in ("alarm", "state", "since", "reason"):
        table.add_column(column, overflow="fold")
    for alarm in report.alarms:
        style = STATE_STYLES.get(alarm.state, "yellow")
        table.add_row(
            escape(alarm.name),
            f"[{style}]{alarm.state}[/]",
            alarm.since or "-",
            escape(alarm.reason or "-"),
        )
    parts: list[RenderableType] = [table]
    if not report.subscriptions:
        parts.append("Nobody is told: add email = [...] to [alarms] and run `hakobu up`.")
    for subscription in report.subscriptions:
        state = "confirmed" if subscription.confirmed else "[yellow]waiting for confirmation[/]"
        parts.append(f"Told: {escape(subscription.endpoint)} ({subscription.protocol}, {state})")
    return parts


def domain_screen(status: DomainStatus) -> list[RenderableType]:
    from rich.markup import escape

    parts: list[RenderableType] = [f"{status.url}"]
    for certificate in status.certificates:
        style = "green" if certificate.status == "ISSUED" else "yellow"
        parts.append(
            f"  certificate for the {certificate.used_by}: [{style}]{certificate.status}[/]"
        )
    if status.dns == "route53":
        parts.append("  DNS: hakobu writes the records in the Route 53 zone.")
        return parts
    if not status.records:
        parts.append("  DNS is external: run `hakobu up` first; then the records show here.")
        return parts
    parts.append("  Add these records at your DNS provider:")
    for record in status.records:
        parts.append(
            f"    {escape(record['name'])}  {record['type']}  {escape(record['value'])}"
            f"   ({escape(record['why'])})"
        )
    return parts
