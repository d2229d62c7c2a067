"""The two roles a task needs, each with only the permissions its job requires.

The execution role is used by ECS itself to pull the image, write logs and read the
injected secrets: exactly the secrets hakobu manages, plus the app secrets that
`hakobu secrets set` creates under `{prefix}-app-*`, nothing else. The task role is what
the app's own process runs as; it carries only the Session Manager channels ECS Exec needs.
"""

from __future__ import annotations

import json

from hakobu.aws.secrets import app_secret_prefix
from hakobu.core.config import Environment
from hakobu.core.managed_secrets import DB_PASSWORD_SECRET
from hakobu.core.names import Names
from hakobu.provision.blueprint.document import Fragment, ref
from hakobu.provision.blueprint.secrets import injected_secret_addresses

EXECUTION_ROLE = "aws_iam_role.execution"
# The DB password secret's ARN, parsed (locally, no API call) for its partition, region and
# account, so the app secrets' ARN pattern is exactly as narrow as the secrets beside it.
SECRET_ARN_PARTS = "data.aws_arn.db_password_secret"
TASK_ROLE = "aws_iam_role.task"
EXECUTION_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
ECS_EXEC_ACTIONS = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]


def _policy(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ASSUME_BY_ECS_TASKS = _policy(
    {
        "Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
)


def app_secrets_arn_pattern(name_prefix: str) -> str:
    """`arn:<partition>:secretsmanager:<region>:<account>:secret:<name_prefix>*`.

    The trailing `*` also covers the six random characters Secrets Manager appends to
    every secret's ARN. Built from references without quotes: the policy is JSON text
    inside JSON, where a quoted Terraform string would arrive escaped.
    """
    parts = {key: ref(SECRET_ARN_PARTS, key) for key in ("partition", "region", "account")}
    return (
        f"arn:{parts['partition']}:secretsmanager:{parts['region']}:{parts['account']}"
        f":secret:{name_prefix}*"
    )


def roles(env: Environment) -> Fragment:
    names = Names.of(env)
    part = Fragment("service")
    part.resource(
        "aws_iam_role",
        "execution",
        {
            "name": names.execution_role,
            "assume_role_policy": ASSUME_BY_ECS_TASKS,
        },
    )
    # ECR pulls and log writes: AWS's managed policy is exactly that set.
    part.resource(
        "aws_iam_role_policy_attachment",
        "execution",
        {
            "role": ref(EXECUTION_ROLE, "name"),
            "policy_arn": EXECUTION_POLICY_ARN,
        },
    )
    secret_arns = [ref(address, "arn") for address in injected_secret_addresses(env)]
    part.data_source("aws_arn", "db_password_secret", {"arn": ref(DB_PASSWORD_SECRET, "arn")})
    part.resource(
        "aws_iam_role_policy",
        "execution_secrets",
        {
            "name": "read-injected-secrets",
            "role": ref(EXECUTION_ROLE, "id"),
            "policy": _policy(
                {
                    "Sid": "ManagedSecrets",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": secret_arns,
                },
                {
                    "Sid": "AppSecrets",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": app_secrets_arn_pattern(app_secret_prefix(names.prefix)),
                },
            ),
        },
    )
    part.resource(
        "aws_iam_role",
        "task",
        {
            "name": names.task_role,
            "assume_role_policy": ASSUME_BY_ECS_TASKS,
        },
    )
    # ssmmessages channels cannot be scoped to a resource: AWS documents "*" for them.
    part.resource(
        "aws_iam_role_policy",
        "task_exec",
        {
            "name": "ecs-exec",
            "role": ref(TASK_ROLE, "id"),
            "policy": _policy({"Effect": "Allow", "Action": ECS_EXEC_ACTIONS, "Resource": "*"}),
        },
    )
    return part
