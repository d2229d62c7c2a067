"""What a task's containers take from other services and give back: the local image an
emulated ECR image names, the secrets ECS injects, the log lines the awslogs driver sends."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from moto.ecr.models import ecr_backends
from moto.logs.models import logs_backends
from moto.secretsmanager.models import secretsmanager_backends
from moto.ssm.models import ssm_backends

from hakobu.sandbox import images
from hakobu.sandbox.runtime.bridge.shared import lock

_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/"
    r"(?P<repository>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


def local_image(image: str) -> str | None:
    """What the engine runs for a task definition's `image`: for an image of the emulated
    ECR, the local image its manifest names (its config digest, see sandbox/images.py), or
    None if ECR has no such image; any other reference as it is."""
    found = _ECR_IMAGE.match(image)
    if found is None:
        return image
    backend = ecr_backends[found["account"]][found["region"]]
    repository = backend.repositories.get(found["repository"])
    if repository is None:
        return None
    digest, tag = found["digest"], found["tag"] or ("latest" if not found["digest"] else None)
    for candidate in list(repository.images):
        if digest and candidate.get_image_digest() != digest:
            continue
        if tag and tag not in (candidate.image_tags or [candidate.image_tag]):
            continue
        return images.config_digest(candidate.image_manifest)
    return None


def secret_value(account: str, region: str, value_from: str) -> str:
    """The value ECS injects for a container's `secrets` entry.

    `value_from` is a Secrets Manager ARN, optionally with `:json-key:version-stage:
    version-id` (the key selects one field of a JSON secret), or an SSM parameter ARN or name.
    Raises LookupError with ECS's wording when it cannot be resolved.
    """
    parts = value_from.split(":")
    if len(parts) >= 7 and parts[2] == "secretsmanager":
        return _secretsmanager_value(parts)
    if len(parts) >= 6 and parts[2] == "ssm":
        account, region = parts[4] or account, parts[3] or region
        value_from = parts[5].removeprefix("parameter")
    parameter = ssm_backends[account][region].get_parameter(value_from)
    if parameter is None:
        raise LookupError(f"ResourceNotFoundException: parameter {value_from} not found")
    if parameter.parameter_type == "SecureString":  # ECS injects the decrypted value
        return str(parameter.decrypt(parameter.value))
    return str(parameter.value)


def _secretsmanager_value(parts: list[str]) -> str:
    region, account = parts[3], parts[4]
    arn = ":".join(parts[:7])
    json_key, stage, version = [*parts[7:10], "", "", ""][:3]
    backend = secretsmanager_backends[account][region]
    try:
        response = backend.get_secret_value(
            arn, version or None, stage or ("AWSCURRENT" if not version else None)
        )
    except Exception as exc:  # moto raises its own error classes
        raise LookupError(f"ResourceNotFoundException: secret {arn}: {exc}") from None
    value = str(response.get("SecretString", ""))
    if not json_key:
        return value
    try:
        field_value = json.loads(value)[json_key]
    except (ValueError, KeyError, TypeError):
        raise LookupError(f"the secret {arn} has no JSON key {json_key}") from None
    return field_value if isinstance(field_value, str) else json.dumps(field_value)


def put_log_events(
    account: str, region: str, group: str, stream: str, events: Sequence[tuple[float, str]]
) -> bool:
    """Append (epoch seconds, message) events to `stream` of `group`, creating the stream
    as the awslogs driver does. False when the group does not exist (ECS then fails to
    start the task; the runtime keeps the lines out of the emulator)."""
    if not events:
        return True
    with lock:
        backend = logs_backends[account][region]
        if group not in backend.groups:
            return False
        backend.ensure_log_stream(group, stream)
        batch = [{"timestamp": int(ts * 1000), "message": message} for ts, message in events]
        backend.put_log_events(group, stream, sorted(batch, key=lambda e: e["timestamp"]))
        return True
