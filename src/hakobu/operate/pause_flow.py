"""`hakobu pause` and `hakobu resume` from start to end: read the facts, plan, ask, carry
the plan out with the one plan/apply sequence `hakobu up` uses for the Terraform step.

The plans, savings and steps are the `hakobu.operate.pausing` package's; this module puts
them in order, so the CLI only parses, asks (through `confirm`) and renders the outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from hakobu.aws.polling import Waiter
from hakobu.core.config import Environment
from hakobu.core.target import Target
from hakobu.operate.pausing.execute import execute_pause, execute_resume
from hakobu.operate.pausing.plan import gather_facts, plan_pause, plan_resume
from hakobu.operate.pausing.record import current_record, emulator_of, now_utc, state_path
from hakobu.operate.pausing.saving import pause_saving
from hakobu.operate.pausing.wait import Health
from hakobu.provision.converge import Presenter, converge
from hakobu.provision.pipeline import Provisioner, preflight
from hakobu.ship.commands import app_url

AWS_POLL_SECONDS = 10.0
SANDBOX_POLL_SECONDS = 1.0
T = TypeVar("T")

if TYPE_CHECKING:
    from hakobu.operate.pausing.execute import Progress, Unfollowed
    from hakobu.operate.pausing.plan import PausePlan, ResumePlan
    from hakobu.operate.pausing.record import PauseRecord


@dataclass
class PauseOutcome:
    """What `hakobu pause` found and did. `plan` is None when nothing was left to do."""

    env: Environment
    path: Path
    previous: PauseRecord | None
    plan: PausePlan | None
    applied: bool = False


@dataclass
class ResumeOutcome:
    env: Environment
    record: PauseRecord | None
    plan: ResumePlan | None = None
    applied: bool = False
    # The app healthy again, or why that was not waited for; None until applied.
    health: Health | Unfollowed | None = None
    url: str | None = None  # where the app answers, once healthy


@dataclass
class Steps:
    """How the caller follows the steps: Terraform's (`presenter`), the waits
    (`progress`), warnings and notes, the command that continues after a Ctrl-C
    (`again`), and the wait limit in seconds (None: deploy.timeout_seconds)."""

    presenter: Presenter
    progress: Progress
    warn: Callable[[str], None]
    note: Callable[[str], None]
    again: str
    timeout: int | None = None


def pause(
    env: Environment,
    target: Target,
    deep: bool,
    steps: Steps,
    confirm: Callable[[PausePlan, PauseRecord | None], bool],
) -> PauseOutcome:
    """Plan the pause of `env`; if `confirm(plan, previous)` agrees, carry it out."""
    from hakobu.provision.prices import load_prices

    if deep:
        _preflight(env, steps)
    emulator = emulator_of(env) if target.sandbox else None
    path = state_path(env, target.sandbox)
    previous = current_record(path, emulator)
    facts = gather_facts(target.client("ecs"), target.client("rds"), env)
    plan = plan_pause(env, facts, deep, previous, load_prices(), now_utc(), emulator)
    if plan.nothing_to_do:
        return PauseOutcome(env, path, previous, None)
    if not confirm(plan, previous):
        return PauseOutcome(env, path, previous, plan)
    _carry_out(execute_pause, env, target, plan, path, steps)
    return PauseOutcome(env, path, previous, plan, applied=True)


def resume(
    env: Environment,
    target: Target,
    steps: Steps,
    confirm: Callable[[ResumePlan, PauseRecord], bool],
) -> ResumeOutcome:
    """Plan bringing `env` back; if `confirm(plan, record)` agrees, do it and wait until
    the app is healthy where tasks really run (AWS, a sandbox with a container engine)."""
    path = state_path(env, target.sandbox)
    record = current_record(path, emulator_of(env) if target.sandbox else None)
    if record is None:
        return ResumeOutcome(env, None)
    if record.deep:
        _preflight(env, steps)
    facts = gather_facts(target.client("ecs"), target.client("rds"), env)
    plan = plan_resume(env, record, facts)
    if not confirm(plan, record):
        return ResumeOutcome(env, record, plan)
    health = _carry_out(execute_resume, env, target, plan, path, steps)
    url = app_url(env, target) if isinstance(health, Health) else None
    return ResumeOutcome(env, record, plan, applied=True, health=health, url=url)


def deep_extra_saving(env: Environment, record: PauseRecord, saving: float) -> float:
    """How much more a month `pause --deep` would save than the pause `record` made."""
    from hakobu.provision.prices import load_prices

    deep = pause_saving(env, load_prices(), True, record.desired_count, record.processes)
    return deep.total - saving


def _carry_out(
    execute: Callable[..., T], env: Environment, target: Target, plan: Any, path: Path, steps: Steps
) -> T:
    """`execute_pause` or `execute_resume` of `plan`, given what both take from `steps`: the
    Terraform step and the waits."""
    reshape, waiter = _reshape(env, target, steps), _waiter(env, steps, target)
    return execute(env, target, plan, path, reshape, steps.progress, waiter)


def _preflight(env: Environment, steps: Steps) -> None:
    """Terraform runs: the same checks as `hakobu up` before anything changes."""
    for warning in preflight(env):
        steps.warn(warning)


def _reshape(env: Environment, target: Target, steps: Steps) -> Callable[[bool], None]:
    """The Terraform step: the paused or the normal shape, through `converge`, the
    sequence `hakobu up` runs (no saved plan: this plan is made and applied at once)."""

    def reshape(paused: bool) -> None:
        provisioner = Provisioner(env, target, paused=paused)
        converge(provisioner, steps.presenter, ask=False, again=steps.again, reuse_saved_plan=False)
        for note in provisioner.notes:
            steps.note(note)

    return reshape


def _waiter(env: Environment, steps: Steps, target: Target) -> Callable[[], Waiter]:
    seconds = steps.timeout or env.settings.deploy.timeout_seconds
    # The emulator answers at once and its runtime moves every half second: poll it often.
    poll = SANDBOX_POLL_SECONDS if target.sandbox else AWS_POLL_SECONDS
    return lambda: Waiter(timeout=seconds, poll_seconds=poll)
