"""hakobu scale: the number of tasks now, recorded in hakobu.toml."""

from __future__ import annotations

from typing import Annotated

import typer

from hakobu.cli.app import app
from hakobu.cli.common import DEFAULT_CONFIG, ConfigOpt, JsonOpt, SandboxOpt, env_and
from hakobu.cli.context import CommandContext


@app.command(rich_help_panel="Operate")
def scale(
    words: Annotated[
        list[str],
        typer.Argument(
            metavar="[ENV] [PROCESS=]COUNT",
            help="Environment (optional) and the number of tasks, 0 to 100; web's, or a "
            "process's as worker=3.",
            show_default=False,
        ),
    ],
    as_json: JsonOpt = False,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Run COUNT tasks now, and record it in hakobu.toml so the next plan agrees.

    Calls ECS directly (no Terraform run) and writes `service.desired_count` (or, for
    `worker=3`, `processes.worker.desired_count`) into the environment's own
    `[environments.NAME]` section, keeping every comment.
    """
    from rich.markup import escape

    # Imported here: the config models cost every other command's start-up.
    from hakobu.core.config.processes import WEB
    from hakobu.operate import scaling
    from hakobu.operate.autoscaling import check_within_range

    env_name, raw = env_and(words, "COUNT")
    process, count = scaling.parse_target(raw)  # before anything else: a bad count calls nothing
    ctx = CommandContext(config, env_name, sandbox)
    env = ctx.env
    scaling.check_process(env, process)
    if process == WEB:  # [autoscaling] is web's: outside min..max, refused, nothing called
        check_within_range(env, count)
    result = scaling.scale(env, ctx.target, count, config, process)
    if as_json:
        ctx.json(result.as_json(), key="scale")
        return
    change = "unchanged" if result.previous == count else f"{result.previous} → {count}"
    ctx.out.print(f"{escape(result.service)} ({env.name}): desired count {change}")
    if result.config_key:
        ctx.out.print(f"Recorded in {config}: {result.config_key} = {count}")
    else:
        ctx.out.print(f"{config} already says {count}.")
    if sandbox and not ctx.target.runs_tasks:
        ctx.out.print("The emulator runs no containers: no task starts or stops.")
    if env.settings.autoscaling is not None and process == WEB:
        ctx.out.print("Auto scaling may change it again, within its range (`hakobu status`).")
    elif result.previous != count:
        ctx.out.print(f"ECS starts or stops tasks now; `hakobu status {env.name}` shows them.")
    ctx.banner()
