"""Answers for the AWS calls moto leaves out, installed in the sandbox emulator's process.

The real `hashicorp/aws` provider calls these and, when moto answers with HTTP 500 or drops
a field, either retries forever or plans the same change on every run. Each patch below
names the AWS API it answers and what the provider did without it (found with
`TF_LOG=DEBUG`). `install()` is idempotent and only adds behaviour moto lacks: what moto
already does is left to moto.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from hakobu.sandbox.patching import Patches

_patches = Patches()

# ECS service settings CreateService accepts and moto 5.2 drops; DescribeServices must
# return them or the provider plans to set them again on every run.
_KEPT_SERVICE_PARAMS = {
    # The deployment alarms (alarm-based rollback) and circuit breaker live here.
    "deploymentConfiguration": "deployment_configuration",
    "availabilityZoneRebalancing": "availability_zone_rebalancing",
    "enableExecuteCommand": "enable_execute_command",
    # Without it the service planned `health_check_grace_period_seconds = 0 -> 60` on every
    # run wherever the runtime (which keeps it too) does not run.
    "healthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
}


def install() -> None:
    """Add the missing answers to moto's handlers; a second call changes nothing."""
    from moto.applicationautoscaling.models import ApplicationAutoscalingBackend
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
    from moto.ec2.models.security_groups import SecurityGroupRule
    from moto.ecs.responses import EC2ContainerServiceResponse
    from moto.s3.models import FakeBucket

    with _patches.lock:
        if _patches:
            return
        response = ApplicationAutoScalingResponse
        # Application Auto Scaling ListTagsForResource / TagResource / UntagResource: moto
        # has none of them (HTTP 500), and aws_appautoscaling_target reads its tags right
        # after RegisterScalableTarget, retrying the 500 forever ("Still creating..." for
        # as long as one waits).
        _patches.add(response, "list_tags_for_resource", _list_tags_for_resource)
        _patches.add(response, "tag_resource", _tag_resource)
        _patches.add(response, "untag_resource", _untag_resource)
        # RegisterScalableTarget: moto ignores its Tags, so the provider's default tags
        # would read back empty and show as a change on every plan.
        _patches.wrap(response, "register_scalable_target", _register_scalable_target)
        _patches.wrap(response, "deregister_scalable_target", _deregister_scalable_target)
        # Application Auto Scaling DescribeScalingActivities: missing in moto (HTTP 500);
        # `hakobu status` lists the last activities of the service's scalable target.
        _patches.add(response, "describe_scaling_activities", _describe_scaling_activities)
        # RegisterScalableTarget on an ECS service: AWS moves a desired count outside the
        # new [min, max] into it at once and records that as a scaling activity.
        _patches.wrap(ApplicationAutoscalingBackend, "register_scalable_target", _clamp_service)
        # ECS CreateService: moto drops deploymentConfiguration (with the deployment
        # alarms), availabilityZoneRebalancing, enableExecuteCommand and
        # healthCheckGracePeriodSeconds.
        _patches.wrap(
            EC2ContainerServiceResponse,
            "create_service",
            keeping_service_params(_KEPT_SERVICE_PARAMS),
        )
        # EC2 DescribeSecurityGroupRules: moto returns no Description for a rule that
        # references another group (it keeps it with the group pair), so every
        # aws_vpc_security_group_*_rule with a referenced group plans an update each run.
        _patches.replace_property(SecurityGroupRule, "description", _rule_description)
        # ... and none for a rule from a prefix list (CloudFront's origin-facing one, for
        # [domain] cdn): moto keeps only the list's id, so that rule planned an update too.
        _patches.wrap(SecurityGroupRule, "__init__", _keep_prefix_list_description)
        # S3 object calls against a bucket policy: moto judges a condition it has no value
        # for as met, so the storage bucket's "deny unless aws:SecureTransport" statement
        # refused every PutObject/GetObject/DeleteObject (HTTP 403), the app's included.
        _patches.wrap(FakeBucket, "get_permission", _bucket_permission_over_tls)


def uninstall() -> None:
    """Undo `install()` (for tests that run moto in their own process)."""
    _patches.undo()


# --- S3: bucket policies -------------------------------------------------------------------


def _bucket_permission_over_tls(
    original: Callable[..., Any], bucket: Any, action: str, resource: str
) -> Any:
    """The bucket policy's verdict for a request made over TLS. The sandbox's endpoint is
    plain HTTP on loopback standing in for S3's HTTPS one, which every AWS SDK uses, so a
    statement that applies only without TLS (`Bool aws:SecureTransport = false`) does not
    apply; moto (which evaluates StringEquals conditions only) judges the rest."""
    import json

    from moto.iam.access_control import IAMPolicy, PermissionResult

    if bucket.policy is None:
        return original(bucket, action, resource)
    policy = json.loads(bucket.policy)
    statements = policy["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    applying = [statement for statement in statements if not _only_without_tls(statement)]
    if not applying:
        return PermissionResult.NEUTRAL
    verdict = IAMPolicy(json.dumps({**policy, "Statement": applying}))
    return verdict.is_action_permitted(action, resource)


def _only_without_tls(statement: Mapping[str, Any]) -> bool:
    condition = statement.get("Condition") or {}
    values = condition.get("Bool", {}) if set(condition) == {"Bool"} else {}
    return set(values) == {"aws:SecureTransport"} and (
        str(values["aws:SecureTransport"]).lower() == "false"
    )


# --- Application Auto Scaling: tags --------------------------------------------------------


def _tags(handler: Any) -> dict[str, dict[str, str]]:
    """Tags by scalable-target ARN, kept on moto's backend for the account and region."""
    backend = handler.applicationautoscaling_backend
    if not hasattr(backend, "hakobu_tags"):
        backend.hakobu_tags = {}
    tags: dict[str, dict[str, str]] = backend.hakobu_tags
    return tags


def _target_arns(handler: Any) -> set[str]:
    backend = handler.applicationautoscaling_backend
    return {target.arn for by_id in backend.targets.values() for target in by_id.values()}


def _known_arn(handler: Any) -> str:
    from moto.core.exceptions import JsonRESTError

    arn = str(handler._get_param("ResourceARN"))
    if arn not in _target_arns(handler):
        raise JsonRESTError("ResourceNotFoundException", f"No scalable target found: {arn}")
    return arn


def _list_tags_for_resource(handler: Any) -> str:
    arn = _known_arn(handler)
    return _json({"Tags": _tags(handler).get(arn, {})})


def _tag_resource(handler: Any) -> str:
    arn = _known_arn(handler)
    _tags(handler).setdefault(arn, {}).update(handler._get_param("Tags") or {})
    return _json({})


def _untag_resource(handler: Any) -> str:
    arn = _known_arn(handler)
    kept = _tags(handler).get(arn, {})
    for key in handler._get_param("TagKeys") or []:
        kept.pop(key, None)
    return _json({})


def _register_scalable_target(original: Callable[..., str], handler: Any) -> str:
    import json

    body = original(handler)
    tags = handler._get_param("Tags")
    if tags:
        arn = json.loads(body)["ScalableTargetARN"]
        _tags(handler).setdefault(arn, {}).update(tags)
    return body


def _deregister_scalable_target(original: Callable[..., str], handler: Any) -> str:
    before = _target_arns(handler)
    body = original(handler)
    for arn in before - _target_arns(handler):
        _tags(handler).pop(arn, None)
    return body


# --- Application Auto Scaling: scaling activities -----------------------------------------


def _activities(backend: Any) -> list[dict[str, Any]]:
    if not hasattr(backend, "hakobu_activities"):
        backend.hakobu_activities = []
    activities: list[dict[str, Any]] = backend.hakobu_activities
    return activities


def _describe_scaling_activities(handler: Any) -> str:
    namespace = handler._get_param("ServiceNamespace")
    resource_id = handler._get_param("ResourceId")
    dimension = handler._get_param("ScalableDimension")
    found = [
        activity
        for activity in _activities(handler.applicationautoscaling_backend)
        if activity["ServiceNamespace"] == namespace
        and resource_id in (None, activity["ResourceId"])
        and dimension in (None, activity["ScalableDimension"])
    ]
    newest_first = sorted(found, key=lambda a: a["StartTime"], reverse=True)
    return _json({"ScalingActivities": newest_first})


def _clamp_service(
    original: Callable[..., Any],
    backend: Any,
    namespace: str,
    r_id: str,
    dimension: str,
    min_capacity: int | None,
    max_capacity: int | None,
    *args: Any,
    **kwargs: Any,
) -> Any:
    target = original(
        backend, namespace, r_id, dimension, min_capacity, max_capacity, *args, **kwargs
    )
    bounds = (target.min_capacity, target.max_capacity)
    if dimension != "ecs:service:DesiredCount" or None in bounds:
        return target
    _, cluster, name = r_id.split("/")
    service = backend.ecs_backend._get_service(cluster, name)
    wanted = min(max(service.desired_count, target.min_capacity), target.max_capacity)
    if wanted != service.desired_count:
        bound = "minimum" if wanted == target.min_capacity else "maximum"
        service.desired_count = wanted
        _record_activity(backend, target, wanted, f"{bound} capacity was set to {wanted}")
    return target


def _record_activity(backend: Any, target: Any, count: int, cause: str) -> None:
    now = datetime.now(UTC).timestamp()
    _activities(backend).append(
        {
            "ActivityId": str(uuid.uuid4()),
            "ServiceNamespace": target.service_namespace,
            "ResourceId": target.resource_id,
            "ScalableDimension": target.scalable_dimension,
            "Description": f"Setting desired count to {count}.",
            "Cause": cause,
            "StartTime": now,
            "EndTime": now,
            "StatusCode": "Successful",
            "StatusMessage": (
                f"Successfully set desired count to {count}. Change successfully fulfilled by ecs."
            ),
        }
    )


# --- EC2 ------------------------------------------------------------------------------------


def _rule_description(rule: Any) -> str | None:
    description = (
        rule.ip_range.get("Description")
        or rule.source_group.get("Description")
        or getattr(rule, "hakobu_prefix_list_description", None)
    )
    return str(description) if description is not None else None


def _keep_prefix_list_description(
    original: Callable[..., None], rule: Any, *args: Any, **kwargs: Any
) -> None:
    original(rule, *args, **kwargs)
    arguments = inspect.signature(original).bind(rule, *args, **kwargs).arguments
    prefix_list = arguments.get("prefix_list_id")
    if prefix_list and prefix_list.get("Description") is not None:
        rule.hakobu_prefix_list_description = prefix_list["Description"]


# --- ECS ------------------------------------------------------------------------------------


def keeping_service_params(kept: Mapping[str, str]) -> Callable[..., Any]:
    """A CreateService wrapper that stores the request's `kept` parameters ({parameter:
    attribute of moto's service}) that moto drops, so DescribeServices returns them."""

    def create_service(original: Callable[..., Any], handler: Any) -> Any:
        result = original(handler)
        service = handler.ecs_backend._get_service(
            handler._get_param("cluster", "default"), handler._get_param("serviceName")
        )
        for param, attribute in kept.items():
            value = handler._get_param(param)
            if value is not None:
                setattr(service, attribute, value)
        return result

    return create_service


def _json(body: dict[str, Any]) -> str:
    import json

    return json.dumps(body)
