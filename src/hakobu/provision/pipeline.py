"""Provisioning: validate, render, plan, apply, and the steps around them.

One pipeline serves `plan`, `up` and `destroy`; the CLI only decides whether to ask
before applying and how to show progress.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hakobu.aws.secrets import (
    describe,
    master_key_source,
    read_master_key,
    restore,
    scheduled_for_deletion,
    write_secret_if_changed,
)
from hakobu.core.config import Environment
from hakobu.core.managed_secrets import managed_secrets, uses_master_key
from hakobu.core.names import Names
from hakobu.core.target import Target
from hakobu.core.workspace import environment_dir
from hakobu.provision import blueprint
from hakobu.provision.database_safety import check_engine_change
from hakobu.provision.engine_detection import mismatch_warning
from hakobu.provision.state import (
    MOVED_STATE,
    backend,
    ensure_state_bucket,
    init_settings,
    local_state_to_move,
    state_bucket_name,
    state_key,
)
from hakobu.provision.terraform import EventHandler, PlanSummary, Terraform, find_engine

# Secrets `hakobu up` restored from a scheduled deletion and Terraform has not adopted yet
# (kept across runs: a `hakobu plan` restores, the later `hakobu up` applies).
RESTORED_FILE = "restored-secrets.json"


@dataclass
class Provisioner:
    env: Environment
    target: Target
    terraform: Terraform = field(init=False)
    notes: list[str] = field(default_factory=list)
    # Render the deep-paused shape (`hakobu pause --deep`) instead of the normal one.
    paused: bool = False
    prepared: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.terraform = Terraform(
            workdir=environment_dir(self.env, self.target.sandbox),
            environment=self.target.environment(),
            unset=self.target.masked,
            stopped=self.target.stopped,
        )

    @property
    def workdir(self) -> Path:
        return self.terraform.workdir

    def prepare(self) -> bool:
        """Render the document, set up the state backend and run `terraform init`.

        Returns True when the rendered configuration changed since the last run (a plan
        saved before then no longer matches hakobu.toml).
        """
        # Before any Terraform call: a new engine would replace the database, data and all.
        check_engine_change(self.env, self.workdir, lambda: self.target.client("rds"))
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
        document = blueprint.render(self.env, backend(self.env, bucket), paused=self.paused)
        imports = self._secret_imports()
        if imports:
            document["import"] = imports
        changed = self.terraform.write_document(document)
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
        if not destroy:
            self.restore_secrets()
        return self.terraform.plan(on_event, destroy=destroy)

    def apply(self, on_event: EventHandler | None = None) -> dict[str, Any]:
        """Apply the saved plan, then write the secret values Terraform must not hold."""
        self.restore_secrets()  # one scheduled for deletion since `hakobu plan` saved it
        self.terraform.apply(on_event)
        (self.workdir / RESTORED_FILE).unlink(missing_ok=True)  # adopted by now
        self._write_master_key()
        self._keep_schedules_on_release()
        return self.terraform.outputs()

    def _keep_schedules_on_release(self) -> None:
        from hakobu.provision.schedule_release import reinstate_release

        arn = reinstate_release(self.target.client("ecs"), self.env)
        if arn is not None:
            self.notes.append(
                f"The schedules run the deployed release again ({arn.rsplit('/', 1)[-1]}): "
                "the apply changed their task definition, and Terraform's new revision "
                "runs the :bootstrap placeholder image."
            )

    def restore_secrets(self) -> list[str]:
        """Cancel the scheduled deletion of the secrets hakobu manages; their names.

        The guide's trap: a destroyed stack leaves its secrets scheduled for deletion
        (recoverable for days), and creating them again fails with "a secret with this name
        is already scheduled for deletion". The guide's fix force-deletes them, losing the
        values for good; hakobu restores them instead (and never force-deletes), and the
        import blocks written by `prepare` let Terraform adopt them if its state lost them.
        """
        client = self.target.client("secretsmanager")
        restored = []
        for managed in managed_secrets(self.env):
            if not scheduled_for_deletion(_look_up(client, managed.secret)):
                continue
            restore(client, managed.secret)
            restored.append(managed.secret)
            self.notes.append(
                f"Restored the secret {managed.secret} ({managed.what}): it was scheduled "
                "for deletion. hakobu keeps the secrets it manages instead of failing on "
                "their names, and never force-deletes one."
            )
        if restored:
            self._remember_restored(restored)
        return restored

    def _secret_imports(self) -> list[dict[str, str]]:
        """Import blocks for managed secrets that are (or were just) restored.

        Terraform skips an import block whose resource is already in its state (and in a
        destroy plan), so this only ever adopts a restored secret the state no longer has,
        as after `hakobu destroy` and a new `hakobu up`. Secrets that merely exist are not
        imported: adopting the DB password secret of someone else's stack would overwrite it.
        """
        remembered = self._restored()
        client = self.target.client("secretsmanager")
        imports = []
        for managed in managed_secrets(self.env):
            found = _look_up(client, managed.secret)
            if found and (scheduled_for_deletion(found) or managed.secret in remembered):
                imports.append({"to": managed.address, "id": str(found["ARN"])})
        return imports

    def _restored(self) -> set[str]:
        path = self.workdir / RESTORED_FILE
        return set(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else set()

    def _remember_restored(self, names: list[str]) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        known = sorted(self._restored() | set(names))
        (self.workdir / RESTORED_FILE).write_text(json.dumps(known) + "\n", encoding="utf-8")

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


def _look_up(client: Any, secret: str) -> dict[str, Any] | None:
    """The secret's description, or None if it does not exist or cannot be looked at.

    A helper step must not stand in Terraform's way: without the permission or the
    credentials to look, Terraform runs and reports the problem with its own diagnostics.
    """
    try:
        return describe(client, secret)
    except (BotoCoreError, ClientError):
        return None


def preflight(env: Environment) -> list[str]:
    """Checks that need no AWS call; raise `PreflightError` before anything is created.

    Returns warnings worth showing (for example MySQL 8.0 on Extended Support).
    """
    from hakobu.provision.dockerfile import port_mismatch

    find_engine()
    if uses_master_key(env):
        master_key_source(env)
    mismatch = port_mismatch(env.root, env.settings.service.port)
    # The app's own files naming the other kind of database: it would not connect.
    engine = mismatch_warning(env)
    return [*env.warnings, *(w for w in (mismatch, engine) if w)]
