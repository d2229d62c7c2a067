"""Checks of the secrets: each managed secret, and the Rails master key."""

from __future__ import annotations

import hashlib
import hmac

from hakobu.aws.secrets import master_key_source, read_master_key
from hakobu.core.errors import HakobuError
from hakobu.operate.doctor.facts import Facts
from hakobu.operate.doctor.results import Finding, Skip, ok, problem, utc_minute


def check_secret(facts: Facts, *, secret: str, what: str) -> Finding:
    """The guide's first trap: a secret "already scheduled for deletion"."""
    described = facts.secrets.get(secret)
    if described is None:
        return problem(
            f"the {what} secret does not exist: tasks cannot start without it",
            "run `hakobu up`: it creates the secret",
        )
    deleted = described.get("DeletedDate")
    if deleted:
        return problem(
            f"the {what} secret is scheduled for deletion (deleted {utc_minute(deleted)}): tasks "
            'cannot read it, and Terraform fails on its name ("already scheduled for '
            'deletion")',
            "run `hakobu up`: it restores the secret with its value (or `aws "
            f"secretsmanager restore-secret --secret-id {secret}`). Do not force-delete it "
            "as the guide suggests: --force-delete-without-recovery loses the value for good",
        )
    changed = described.get("LastChangedDate")
    since = f", last changed {utc_minute(changed)}" if changed else ""
    return ok(f"the {what} secret exists{since}")


def check_master_key(facts: Facts) -> Finding:
    """The guide's "RAILS_MASTER_KEYエラー", without printing the key: SHA-256 digests are
    compared and neither the values nor the digests are shown."""
    env = facts.env
    secret = facts.names.master_key_secret
    try:
        source = master_key_source(env)
    except HakobuError as exc:
        raise Skip(f"nothing to compare with: {exc.problem}") from None
    local = read_master_key(env)
    label = env.settings.secrets.master_key_file if not source.startswith("$") else source
    remote = facts.secret_value(secret)
    if not remote:
        return problem(
            f"{secret} has no value: tasks start without RAILS_MASTER_KEY",
            f"run `hakobu up`: it writes {label} to Secrets Manager",
        )
    if same_secret(local, remote):
        return ok(f"{secret} holds the same key as {label} (compared by digest, not shown)")
    return problem(
        f"{secret} holds a different key than {label}: the app cannot decrypt "
        "config/credentials.yml.enc with it (compared by digest, neither shown)",
        f"if {label} is the right key, run `hakobu up` (it writes the key to Secrets "
        "Manager), then `hakobu deploy` so the tasks read it (they read secrets when they "
        f"start); if the deployed key is the right one, get {label} from whoever set up "
        "the app",
    )


def same_secret(local: str, remote: str) -> bool:
    """Equal values, compared by SHA-256 digest in constant time (whitespace at the ends
    ignored, as `hakobu up` strips the key it writes)."""
    digest = hashlib.sha256
    return hmac.compare_digest(
        digest(local.strip().encode()).digest(), digest(remote.strip().encode()).digest()
    )
