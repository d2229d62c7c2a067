"""Provisioning: validate, render, plan, apply, and the steps around them.

One pipeline serves `plan`, `up` and `destroy`; the CLI only decides whether to ask
before applying and how to show progress.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hakobu import blueprint
from hakobu.aws.secrets import master_key_source, read_master_key, write_secret_if_changed
from hakobu.blueprint.secrets import uses_master_key
from hakobu.config import Environment
from hakobu.names import Names
from hakobu.state import (
    MOVED_STATE,
    backend,
    ensure_state_bucket,
    init_settings,
    local_state_to_move,
    state_bucket_name,
    state_key,
)
from hakobu.target import Target
from hakobu.terraform import EventHandler, PlanSummary, Terraform, find_engine
from hakobu.workspace import environment_dir


@dataclass
class Provisioner:
    env: Environment
    target: Target
    terraform: Terraform = field(init=False)
    notes: list[str] = field(default_factory=list)
    prepared: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.terraform = Terraform(
            workdir=environment_dir(self.env, self.target.sandbox),
            environment=self.target.environment(),
            unset=self.target.masked,
        )

    @property
    def workdir(self) -> Path:
        return self.terraform.workdir

    def prepare(self) -> bool:
        """Render the document, set up the state backend and run `terraform init`.

        Returns True when the rendered configuration changed since the last run (a plan
        saved before then no longer matches hakobu.toml).
        """
        bucket = None
        moving = None
        if self.env.settings.state == "s3":
            bucket = state_bucket_name(self.env, self.target)
            if ensure_state_bucket(self.target, bucket):
                self.notes.append(
                    f"Created the state bucket s3://{bucket} "
                    "(versioned, encrypted, public access blocked)."
                )
            moving = local_state_to_move(self.workdir, self.target, bucket, state_key(self.env))
        changed = self.terraform.write_document(
            blueprint.render(self.env, backend(self.env, bucket))
        )
        self.terraform.init(init_settings(self.env, self.target), migrate_state=bool(moving))
        if moving is not None:
            # Terraform copied it and leaves the file; renamed, it is never moved twice.
            kept = moving.replace(moving.with_name(MOVED_STATE))
            self.notes.append(
                f"Moved the Terraform state to s3://{bucket}/{state_key(self.env)} "
                f"(the local copy is kept as {kept})."
            )
        if changed:
            self.terraform.plan_file.unlink(missing_ok=True)
        self.prepared = True
        return changed

    def saved_plan(self) -> PlanSummary | None:
        """A plan saved by `hakobu plan` for the current hakobu.toml, if any."""
        return self.terraform.saved_plan()

    def plan(self, on_event: EventHandler | None = None, destroy: bool = False) -> PlanSummary:
        return self.terraform.plan(on_event, destroy=destroy)

    def apply(self, on_event: EventHandler | None = None) -> dict[str, Any]:
        """Apply the saved plan, then write the secret values Terraform must not hold."""
        self.terraform.apply(on_event)
        self._write_master_key()
        return self.terraform.outputs()

    def destroy(self, on_event: EventHandler | None = None) -> None:
        self.terraform.apply(on_event)

    def outputs(self) -> dict[str, Any]:
        """The outputs of the last apply; empty when this environment was never set up here."""
        if self.env.settings.state == "s3":
            # The state may come from a teammate or CI: this checkout needs only an init.
            if not self.prepared:
                self.prepare()
        elif not (self.workdir / ".terraform").is_dir():
            return {}
        return self.terraform.outputs()

    def _write_master_key(self) -> None:
        if not uses_master_key(self.env):
            return
        client = self.target.client("secretsmanager")
        secret = Names.of(self.env).master_key_secret
        if write_secret_if_changed(client, secret, read_master_key(self.env)):
            self.notes.append(f"Wrote the Rails master key to Secrets Manager ({secret}).")


def preflight(env: Environment) -> list[str]:
    """Checks that need no AWS call; raise `PreflightError` before anything is created.

    Returns warnings worth showing (for example MySQL 8.0 on Extended Support).
    """
    find_engine()
    if uses_master_key(env):
        master_key_source(env)
    return env.warnings
