"""The one plan/apply sequence: `up`, `destroy` and the Terraform step of `pause --deep`
and `resume` all run it; only what is shown and whether to ask differ.

prepare -> plan (or the plan `hakobu plan` saved) -> ask -> apply, each step announced to
a `Presenter` (the CLI renders; this module prints nothing). A Ctrl-C during the apply
waits for Terraform, which got the same signal and saves what it finished, then raises
`ApplyInterrupted` naming what was finished and the command that continues.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from hakobu.core.errors import HakobuError
from hakobu.provision.database_safety import replaced_databases
from hakobu.provision.pipeline import Provisioner
from hakobu.provision.terraform import Event, EventHandler, PlanSummary

EXIT_INTERRUPTED = 130
FINISHED_SHOWN = 10


class Presenter(Protocol):
    """How a caller shows the steps; every method may do nothing."""

    def working(self, text: str) -> AbstractContextManager[object]: ...

    def planned(self, summary: PlanSummary, saved: bool) -> None: ...

    def confirm(self, summary: PlanSummary) -> bool: ...

    def applying(self, summary: PlanSummary) -> AbstractContextManager[EventHandler]: ...


class Declined(HakobuError):
    """The user answered no: nothing was applied (exit 1, no Fix line)."""

    def __init__(self) -> None:
        super().__init__("nothing was applied: the plan was not confirmed")


class ApplyInterrupted(HakobuError):
    """Ctrl-C during an apply: what Terraform finished, and how to continue."""

    exit_code = EXIT_INTERRUPTED

    def __init__(self, finished: list[str], total: int, again: str) -> None:
        shown = ", ".join(finished[:FINISHED_SHOWN])
        hidden = len(finished) - FINISHED_SHOWN
        more = f" and {hidden} more" if hidden > 0 else ""
        done = f": {shown}{more}" if finished else ""
        super().__init__(
            f"interrupted: Terraform stopped after finishing {len(finished)} of {total} "
            f"change(s){done}. What it finished is saved in its state.",
            f"run `{again}` to continue from there (nothing finished is done twice)",
        )
        self.finished = finished


@dataclass
class Outcome:
    summary: PlanSummary
    applied: bool
    outputs: dict[str, Any] = field(default_factory=dict)


def plan_only(provisioner: Provisioner, presenter: Presenter) -> PlanSummary:
    """`hakobu plan`: prepare and plan, saving the plan for a later `hakobu up`."""
    with presenter.working(f"Preparing Terraform in {provisioner.workdir} ..."):
        provisioner.prepare()
    with presenter.working("Planning ..."):
        summary = provisioner.plan()
    presenter.planned(summary, saved=False)
    return summary


def converge(
    provisioner: Provisioner,
    presenter: Presenter,
    *,
    ask: bool,
    again: str,
    destroy: bool = False,
    reuse_saved_plan: bool = True,
    check: Callable[[PlanSummary], None] | None = None,
    before_apply: Callable[[], None] | None = None,
) -> Outcome:
    """Bring the environment to what hakobu.toml renders (or, with `destroy`, to nothing).

    `ask`: confirm before applying a fresh plan (a plan saved by `hakobu plan` was
    reviewed already). `again`: the command that continues after a Ctrl-C. `check` may
    refuse the plan (a `HakobuError`) before anything is asked or applied;
    `before_apply` runs once the plan is confirmed, just before Terraform applies it.
    """
    with presenter.working(f"Preparing Terraform in {provisioner.workdir} ..."):
        provisioner.prepare()
    summary = provisioner.saved_plan() if reuse_saved_plan and not destroy else None
    saved = summary is not None
    if summary is None:
        with presenter.working("Planning ..."):
            summary = provisioner.plan(destroy=destroy)
    presenter.planned(summary, saved)
    if summary.empty:
        return Outcome(summary, applied=False, outputs={} if destroy else provisioner.outputs())
    if check is not None:
        try:
            check(summary)
        except HakobuError:
            provisioner.terraform.plan_file.unlink(missing_ok=True)
            raise
    # A plan that loses the database's data is confirmed even with --yes or a saved plan.
    losing = not destroy and bool(replaced_databases(summary))
    if (losing or (ask and not saved)) and not presenter.confirm(summary):
        provisioner.terraform.plan_file.unlink(missing_ok=True)
        raise Declined()
    if before_apply is not None:
        before_apply()
    with presenter.applying(summary) as on_event:
        outputs = _apply(provisioner, on_event, summary, again, destroy)
    return Outcome(summary, applied=True, outputs=outputs)


def _apply(
    provisioner: Provisioner,
    on_event: EventHandler,
    summary: PlanSummary,
    again: str,
    destroy: bool,
) -> dict[str, Any]:
    finished: list[str] = []
    recorder = _recording(on_event, finished)
    try:
        if destroy:
            provisioner.destroy(recorder)
            return {}
        return provisioner.apply(recorder)
    except KeyboardInterrupt:
        total = summary.add + summary.change + summary.destroy
        raise ApplyInterrupted(finished, total, again) from None


def _recording(on_event: EventHandler, finished: list[str]) -> Callable[[Event], None]:
    def record(event: Event) -> None:
        if event.get("type") == "apply_complete":
            address = event.get("hook", {}).get("resource", {}).get("addr")
            if address:
                finished.append(address)
        on_event(event)

    return record
