"""[[schedules]]: EventBridge Scheduler runs a one-off task of the deployed release on time.

Each schedule targets the task-definition family `{prefix}-schedules` *without* a
revision: ECS RunTask then starts the family's newest ACTIVE revision. Only `hakobu deploy`
(once every process's rollout completed) and `hakobu rollback` register revisions in that
family, so its newest revision is always the deployed release, and no deploy needs
Terraform to touch a schedule. Terraform creates the family's first revision (the
bootstrap image, like web's) and never reverts later ones: it tracks only that revision.

Failed invocations (RunTask refused, no capacity) are retried, then recorded in an SQS
dead-letter queue; the task's own exit code is read back from ECS by `hakobu schedules`.
"""

from __future__ import annotations

import json

from hakobu.core.config import Environment
from hakobu.core.config.processes import ScheduleSettings
from hakobu.core.names import Names
from hakobu.provision.blueprint.document import Fragment, literal_words, ref
from hakobu.provision.blueprint.iam import EXECUTION_ROLE, SECRET_ARN_PARTS, TASK_ROLE
from hakobu.provision.blueprint.network import subnet_ids
from hakobu.provision.blueprint.processes import process_container, task_definition_body
from hakobu.provision.blueprint.security import ECS_SG
from hakobu.provision.blueprint.service import CLUSTER

SCHEDULE_FAMILY = "aws_ecs_task_definition.schedules"
SCHEDULER_ROLE = "aws_iam_role.scheduler"
DEAD_LETTER_QUEUE = "aws_sqs_queue.schedules_dlq"
# Scheduled tasks log as release and `hakobu run` tasks do (`ecs/<container>/<task id>`), so
# `schedules run` and `hakobu logs` find their output where they find every one-off task's.
LOG_PREFIX = "ecs"
# RunTask refusals are usually short-lived (capacity, throttling): retry for up to an hour.
RETRY_ATTEMPTS = 3
MAX_EVENT_AGE_SECONDS = 3600
# SQS's longest retention: a failed run stays visible for two weeks.
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
# The ECS task group of a schedule's tasks: how `hakobu schedules` finds its last result.
GROUP_PREFIX = "schedule:"


def resource_name(schedule: str) -> str:
    return "schedule_" + schedule.replace("-", "_")


def schedules(env: Environment) -> Fragment:
    part = Fragment("schedules")
    if not env.settings.schedules:
        return part
    names = Names.of(env)
    service = env.settings.service
    container = process_container(env, LOG_PREFIX, None, service.memory)
    part.resource(
        "aws_ecs_task_definition",
        "schedules",
        task_definition_body(env, names.schedule_family, service.cpu, service.memory, container),
    )
    part.resource(
        "aws_sqs_queue",
        "schedules_dlq",
        {
            "name": names.schedules_dlq,
            "message_retention_seconds": DLQ_RETENTION_SECONDS,
            "sqs_managed_sse_enabled": True,
        },
    )
    _role(part, env)
    for schedule in env.settings.schedules:
        _schedule(part, env, schedule)
    return part


def _schedule(part: Fragment, env: Environment, schedule: ScheduleSettings) -> None:
    names = Names.of(env)
    public = env.settings.service.public_ip
    command = literal_words(schedule.command)
    overrides = {"containerOverrides": [{"name": names.container, "command": command}]}
    part.resource(
        "aws_scheduler_schedule",
        resource_name(schedule.name),
        {
            "name": names.schedule(schedule.name),
            "group_name": "default",
            "schedule_expression": schedule.expression,
            "schedule_expression_timezone": schedule.timezone,
            "state": "ENABLED",
            "flexible_time_window": {"mode": "OFF"},
            "target": {
                "arn": ref(CLUSTER, "arn"),
                "role_arn": ref(SCHEDULER_ROLE, "arn"),
                # RunTask's `overrides`: the schedule's command in the app's container.
                "input": json.dumps(overrides),
                "ecs_parameters": {
                    # No revision: the family's newest, which only deploys and rollbacks add.
                    "task_definition_arn": ref(SCHEDULE_FAMILY, "arn_without_revision"),
                    "launch_type": "FARGATE",
                    "platform_version": "LATEST",
                    "task_count": 1,
                    "group": GROUP_PREFIX + schedule.name,
                    "network_configuration": {
                        "subnets": subnet_ids(env, "public" if public else "private"),
                        "security_groups": [ref(ECS_SG)],
                        "assign_public_ip": public,
                    },
                },
                "retry_policy": {
                    "maximum_event_age_in_seconds": MAX_EVENT_AGE_SECONDS,
                    "maximum_retry_attempts": RETRY_ATTEMPTS,
                },
                "dead_letter_config": {"arn": ref(DEAD_LETTER_QUEUE, "arn")},
            },
        },
    )


def _role(part: Fragment, env: Environment) -> None:
    names = Names.of(env)
    account = ref(SECRET_ARN_PARTS, "account")
    family = ref(SCHEDULE_FAMILY, "arn_without_revision")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "scheduler.amazonaws.com"},
                "Action": "sts:AssumeRole",
                # Only this account's schedules may use the role (confused deputy).
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            }
        ],
    }
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "RunScheduledTask",
                "Effect": "Allow",
                "Action": "ecs:RunTask",
                # RunTask with a family ARN is authorized on that ARN, with a revision on
                # `family:N`: both, for this family only, in this cluster only.
                "Resource": [family, f"{family}:*"],
                "Condition": {"ArnEquals": {"ecs:cluster": ref(CLUSTER, "arn")}},
            },
            {
                "Sid": "PassTaskRoles",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": [ref(EXECUTION_ROLE, "arn"), ref(TASK_ROLE, "arn")],
                "Condition": {"StringLike": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            },
            {
                "Sid": "RecordFailures",
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": ref(DEAD_LETTER_QUEUE, "arn"),
            },
        ],
    }
    part.resource(
        "aws_iam_role",
        "scheduler",
        {"name": names.scheduler_role, "assume_role_policy": json.dumps(trust)},
    )
    part.resource(
        "aws_iam_role_policy",
        "scheduler",
        {
            "name": "run-scheduled-tasks",
            "role": ref(SCHEDULER_ROLE, "id"),
            "policy": json.dumps(policy),
        },
    )
