"""`hakobu destroy`: the one plan/apply sequence in destroy mode, then what Terraform
leaves behind (the secrets, when asked by name, and the pause record)."""

from __future__ import annotations

from dataclasses import dataclass, field

from hakobu.core.workspace import environment_dir
from hakobu.provision.converge import Outcome, Presenter, converge
from hakobu.provision.pipeline import Provisioner

# operate/pausing/record.py's record of a pause (its STATE_FILE): a destroyed environment is no
# longer paused, and provision may not import operate to ask it.
PAUSE_RECORD = "paused.json"


@dataclass
class Teardown:
    outcome: Outcome
    deleted_secrets: list[str] = field(default_factory=list)


def destroy(
    provisioner: Provisioner, presenter: Presenter, *, ask: bool, force_delete: bool, again: str
) -> Teardown:
    """Destroy every resource of the environment; with `force_delete`, also delete its
    secrets at once, without Secrets Manager's recovery window."""
    outcome = converge(provisioner, presenter, ask=ask, again=again, destroy=True)
    if not outcome.applied:
        return Teardown(outcome)
    deleted = force_delete_secrets(provisioner) if force_delete else []
    env = provisioner.env
    (environment_dir(env, provisioner.target.sandbox) / PAUSE_RECORD).unlink(missing_ok=True)
    return Teardown(outcome, deleted)


def force_delete_secrets(provisioner: Provisioner) -> list[str]:
    """The guide's `--force-delete-without-recovery`, for every secret hakobu manages and
    every app secret: the names are free for a new `hakobu up` right away."""
    from hakobu.aws.secrets import app_secret_prefix, force_delete_all
    from hakobu.core.managed_secrets import managed_secrets

    env = provisioner.env
    return force_delete_all(
        provisioner.target.client("secretsmanager"),
        [managed.secret for managed in managed_secrets(env)],
        app_secret_prefix(env.prefix),
    )
