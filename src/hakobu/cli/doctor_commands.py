"""hakobu doctor: the guide's troubleshooting section, run as a tree of named checks.

The checks and their results come from `hakobu.operate.doctor.run_checks`; this module only
renders them (a tree per group, or the `--json` envelope) and exits 1 when a check found
a problem (warnings alone exit 0), so a script or CI step can gate on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import typer

from hakobu.cli.app import app
from hakobu.cli.common import DEFAULT_CONFIG, ConfigOpt, EnvArg, JsonOpt, SandboxOpt
from hakobu.cli.context import CommandContext

if TYPE_CHECKING:  # imported when the command runs: `hakobu --help` need not pay for it
    from rich.console import RenderableType
    from rich.text import Text
    from rich.tree import Tree

    from hakobu.operate.doctor import CheckResult

LABELS = {
    "ok": ("[OK]", "green"),
    "warning": ("[WARNING]", "yellow"),
    "problem": ("[PROBLEM]", "bold red"),
    "skipped": ("[SKIPPED]", "dim"),
}


@app.command(rich_help_panel="Operate")
def doctor(
    env_name: EnvArg = None,
    as_json: JsonOpt = False,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Check this machine, the AWS account and the environment, each with the fix.

    The guide's troubleshooting (a secret scheduled for deletion, tasks that do not start,
    the database unreachable, a wrong master key) and more: local tools, credentials,
    target health, NAT routes, the image in ECR, MySQL 8.0 on Extended Support. Exit code
    1 when a problem is found; warnings alone exit 0.
    """
    from hakobu.operate.doctor import exit_code, report_json, run_checks

    ctx = CommandContext(config, env_name, sandbox)
    env = ctx.env
    aws = ctx.unchecked_target()  # the credentials are doctor's own first check
    results = run_checks(env, aws)
    if as_json:
        ctx.json(report_json(env, aws, results))
    else:
        ctx.out.print(screen(f"{env.prefix} ({env.name}, {env.region})", results))
        ctx.banner()
    raise typer.Exit(exit_code(results))


def screen(title: str, results: list[CheckResult]) -> RenderableType:
    """One tree per group, in the order the checks ran, then the summary line."""
    from rich.console import Group
    from rich.text import Text

    groups: dict[str, list[CheckResult]] = {}
    for result in results:
        groups.setdefault(result.group, []).append(result)
    parts: list[RenderableType] = [Text(f"hakobu doctor: {title}", style="bold")]
    for group, members in groups.items():
        parts += [Text(""), _group_tree(group, members)]
    parts += [Text(""), summary(results)]
    return Group(*parts)


def _group_tree(group: str, results: Iterable[CheckResult]) -> Tree:
    from rich.text import Text
    from rich.tree import Tree

    tree = Tree(Text(group, style="bold"), guide_style="dim")
    for result in results:
        label, style = LABELS[result.status]
        # AWS text holds brackets ("[rails-app]") that are not Rich markup: Text, not markup.
        node = tree.add(Text.assemble((label, style), " ", (result.name, "bold"), ": ",
                                      result.message))  # fmt: skip
        if result.details:  # one node, so a block (the caller identity's JSON) stays whole
            node.add(Text("\n".join(result.details), style="dim"))
        if result.fix and result.status != "ok":
            node.add(Text.assemble(("fix: ", "bold"), result.fix))
    return tree


def summary(results: list[CheckResult]) -> Text:
    from rich.text import Text

    from hakobu.operate.doctor import counts

    found = counts(results)
    words = [
        (f"{found['problem']} problem(s)", "bold red" if found["problem"] else ""),
        (f"{found['warning']} warning(s)", "yellow" if found["warning"] else ""),
        (f"{found['ok']} ok", "green"),
        (f"{found['skipped']} skipped", "dim"),
    ]
    text = Text()
    for index, (word, style) in enumerate(words):
        text.append(", " if index else "")
        text.append(word, style=style)
    return text
