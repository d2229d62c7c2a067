"""`hakobu destroy`: the one plan/apply sequence in destroy mode, then what Terraform
leaves behind (the secrets, when asked by name, and the pause record).

Uploads are data: a storage bucket that still holds objects stops the destroy before
anything is asked or deleted, unless `--delete-data` says to delete them. Terraform
alone would delete the bucket's public-access block, policy and encryption first and
then fail on the bucket (BucketNotEmpty), leaving the uploads in a bucket stripped of
its protections.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hakobu.core.errors import HakobuError
from hakobu.core.workspace import environment_dir
from hakobu.provision.blueprint.storage import BUCKET, bucket_name_in
from hakobu.provision.converge import Outcome, Presenter, converge
from hakobu.provision.pipeline import Provisioner
from hakobu.provision.terraform import PlanSummary

# operate/pausing/record.py's record of a pause (its STATE_FILE): a destroyed environment is no
# longer paused, and provision may not import operate to ask it.
PAUSE_RECORD = "paused.json"


@dataclass
class Teardown:
    outcome: Outcome
    deleted_secrets: list[str] = field(default_factory=list)
    # The storage bucket emptied with --delete-data, and how many object versions it held.
    emptied_bucket: str | None = None
    deleted_objects: int = 0


class UploadsInBucket(HakobuError):
    """The storage bucket still holds objects and `--delete-data` was not given."""

    def __init__(self, bucket: str, again: str) -> None:
        super().__init__(
            f"the storage bucket {bucket} still holds uploads: nothing was destroyed "
            "(hakobu never deletes data it was not told to)",
            f"copy what you need (`aws s3 sync s3://{bucket} ./{bucket}`), then run "
            f"`{again} --delete-data`: it deletes every object version, then the bucket "
            "with the rest",
        )


@dataclass
class _BucketGuard:
    """Looks at the storage bucket the destroy plan deletes: refuses while it holds
    objects, or empties it once the destroy is confirmed (`delete_data`)."""

    provisioner: Provisioner
    delete_data: bool
    again: str
    bucket: str | None = None
    deleted: int = 0

    def check(self, summary: PlanSummary) -> None:
        if not any(c.address == BUCKET and c.action == "delete" for c in summary.changes):
            return
        from hakobu.aws.s3 import holds_objects
        from hakobu.aws.sts import caller_identity

        target = self.provisioner.target
        account = str(caller_identity(target.client("sts"))["Account"])
        bucket = bucket_name_in(self.provisioner.env, account)
        if not holds_objects(target.client("s3"), bucket):
            return
        if not self.delete_data:
            raise UploadsInBucket(bucket, self.again)
        self.bucket = bucket

    def empty(self) -> None:
        if self.bucket is None:
            return
        from hakobu.aws.s3 import empty_bucket

        self.deleted = empty_bucket(self.provisioner.target.client("s3"), self.bucket)


def destroy(
    provisioner: Provisioner,
    presenter: Presenter,
    *,
    ask: bool,
    force_delete: bool,
    again: str,
    delete_data: bool = False,
) -> Teardown:
    """Destroy every resource of the environment; with `force_delete`, also delete its
    secrets at once, without Secrets Manager's recovery window; with `delete_data`, also
    the objects of its storage bucket (without it, a bucket that holds any stops the
    destroy with `UploadsInBucket` before anything is deleted)."""
    guard = _BucketGuard(provisioner, delete_data, again)
    outcome = converge(
        provisioner,
        presenter,
        ask=ask,
        again=again,
        destroy=True,
        check=guard.check,
        before_apply=guard.empty,
    )
    if not outcome.applied:
        return Teardown(outcome)
    deleted = force_delete_secrets(provisioner) if force_delete else []
    env = provisioner.env
    (environment_dir(env, provisioner.target.sandbox) / PAUSE_RECORD).unlink(missing_ok=True)
    return Teardown(outcome, deleted, guard.bucket, guard.deleted)


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
