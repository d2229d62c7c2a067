"""Least privilege proven on a profile stack (the lean app, in its own emulator): with the
emulator's IAM enforcement on, a user holding exactly `hakobu iam policy deploy` runs
`deploy --sandbox --image`, `releases` and `rollback`, and one holding exactly
`hakobu iam policy operate` runs `status`, `logs`, `scale` and `secrets list`. With any one
statement removed, each command that needs it fails with one message naming the missing
action and the resource, pointing at `hakobu iam policy KIND`.

What moto can refuse (tests/support/iam_enforcement.py): the actions of each statement, for
every service against the resource "*"; so the users hold `moto_view` of the policy, and
the ARNs it names (which moto cannot evaluate) are matched here against the ARNs of the
stack's real resources instead. The statements moto cannot refuse in this stack, and why,
are in NOT_REFUSED_HERE: every statement is either refused or listed there with a reason.

`tests/integration/test_profiles_sandbox.py` calls `check_least_privilege` between `up`
and `destroy`; this emulator runs no containers, so deploys are not followed.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

from hakobu.aws import ecr as ecr_ops
from hakobu.core.config import Environment, load_project
from hakobu.core.managed_secrets import managed_secrets
from hakobu.core.names import Names
from hakobu.provision.iam_policies import Scope, policy
from hakobu.sandbox import emulator as sandbox
from hakobu.sandbox import images
from tests.conftest import Run, run_hakobu
from tests.support.iam_enforcement import Keys, enforced, moto_view, without_statement

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"
SCOPE = Scope("aws", REGION, ACCOUNT)
NO_ENGINE = {"HAKOBU_CONTAINER_ENGINE": "none"}

DEPLOY = ("deploy", "releases", "rollback")
OPERATE = ("status", "logs", "scale", "secrets")

# Statement -> the commands that fail without it (each also fails with its own message).
REFUSED: dict[str, dict[str, tuple[str, ...]]] = {
    "deploy": {
        "TaskDefinitionReadsAnyResourceAwsRequires": ("deploy", "releases", "rollback"),
        "RegisterRevisionsOfFamily": ("deploy",),
        "DescribeAndUpdateService": ("deploy", "releases", "rollback"),
        "RunOneOffTasksInCluster": ("deploy",),
    },
    "operate": {
        "TaskDefinitionReadsAnyResourceAwsRequires": ("status", "secrets"),
        "ListClusterTasks": ("status",),
        "DescribeAndScaleService": ("status", "scale"),
        "ReadLogGroup": ("logs",),
        "LoadBalancerReadsAnyResourceAwsRequires": ("status",),
        "DatabaseStatusAndPause": ("status",),
        "AppSecrets": ("secrets",),
        "ListSecretsAnyResourceAwsRequires": ("secrets",),
    },
}
WITHOUT_TASKS = "no task runs in this emulator, so no command follows one"
OTHER_COMMANDS = "not called by status, logs, scale or secrets list; for other commands"
NO_PUSH = "`deploy --image` pushes nothing: this is for deploys that build and push"
NOT_REFUSED_HERE: dict[str, dict[str, str]] = {
    "deploy": {
        "CallerIdentityAnyResourceAwsRequires": "AWS (and moto) answers GetCallerIdentity "
        "with no permission at all; it stays so the policy says what deploy calls",
        "EcrLoginAnyResourceAwsRequires": NO_PUSH,
        "PushAndReadImages": NO_PUSH,
        "TagNewRevisions": "moto does not authorize tags given to RegisterTaskDefinition",
        "PassTaskRolesToEcsTasks": "moto does not authorize iam:PassRole",
        "FollowOneOffTasks": WITHOUT_TASKS + " (DescribeTasks, StopTask of the release task)",
        "ReadLogGroup": WITHOUT_TASKS + " (the release task's logs)",
        "LoadBalancerReadsAnyResourceAwsRequires": WITHOUT_TASKS + " (the rollout's targets)",
    },
    "operate": {
        "CallerIdentityAnyResourceAwsRequires": "AWS (and moto) answers GetCallerIdentity "
        "with no permission at all",
        "DescribeTasks": WITHOUT_TASKS + " (status lists none to describe)",
        "ExecIntoTasks": OTHER_COMMANDS + " (exec, console)",
        "SessionsToTasks": OTHER_COMMANDS + " (exec, console, db tunnel and shell)",
        "EndOwnSessions": OTHER_COMMANDS + " (exec, console, db tunnel and shell)",
        "RunOneOffTasksInCluster": OTHER_COMMANDS + " (run, secrets set's roll-out)",
        "RegisterRevisionsOfFamily": OTHER_COMMANDS + " (secrets set, unset, rotate-db)",
        "TagNewRevisions": "moto does not authorize tags given to RegisterTaskDefinition",
        "PassTaskRolesToEcsTasks": "moto does not authorize iam:PassRole",
        "ReadImages": OTHER_COMMANDS + " (doctor's image check)",
        "TailLogGroup": OTHER_COMMANDS + " (logs --follow, through Live Tail)",
        "FindLogGroupAnyResourceAwsRequires": OTHER_COMMANDS + " (doctor, logs --follow)",
        "ListOidcProvidersAnyResourceAwsRequires": OTHER_COMMANDS + " (doctor, with [ci])",
        "ReadGithubOidcProviderAndDeployRole": OTHER_COMMANDS + " (doctor, with [ci])",
    },
}


def client(root: Path, service: str) -> Any:
    server = sandbox.running(root)
    assert server is not None, f"the emulator of {root.name} is not running"
    return sandbox.client(server, REGION, service)


def _image(root: Path, repository: str, tag: str, digit: str) -> str:
    """An image recorded in the emulated ECR as `deploy --sandbox` records one (nothing
    can run it here: this emulator runs no containers); its repo@digest."""
    ecr = client(root, "ecr")
    manifest = images.manifest_for("sha256:" + digit * 64)
    digest = images.manifest_digest(manifest)
    ecr_ops.put_manifest(ecr, repository, tag, manifest, digest)
    uri = ecr.describe_repositories(repositoryNames=[repository])["repositories"][0]
    return f"{uri['repositoryUri']}@{digest}"


def _commands(kind: str, image: str) -> dict[str, tuple[str, ...]]:
    if kind == "deploy":
        return {"deploy": ("deploy", "--image", image), "releases": ("releases",),
                "rollback": ("rollback",)}  # fmt: skip
    return {"status": ("status",), "logs": ("logs",), "scale": ("scale", "1"),
            "secrets": ("secrets", "list")}  # fmt: skip


def run_as(root: Path, keys: Keys, args: tuple[str, ...], timeout: float = 600) -> Run:
    """`hakobu ARGS --sandbox` as the user of `keys`, without a container engine."""
    environment = {**NO_ENGINE, **keys.environment()}
    return run_hakobu(*args, "--sandbox", cwd=root, env=environment, timeout=timeout)


def check_least_privilege(root: Path) -> None:
    env = load_project(root / "hakobu.toml").environment(None)
    names = Names.of(env)
    first = _image(root, names.repository, "least-1", "1")
    second = _image(root, names.repository, "least-2", "2")
    documents = {kind: policy(env, kind, SCOPE) for kind in ("deploy", "operate")}
    for kind, document in documents.items():
        sids = {s["Sid"] for s in document["Statement"]}
        assert set(REFUSED[kind]) | set(NOT_REFUSED_HERE[kind]) == sids, kind
        assert not set(REFUSED[kind]) & set(NOT_REFUSED_HERE[kind]), kind
    users = {kind: moto_view(document) for kind, document in documents.items()}
    server = sandbox.running(root)
    assert server is not None
    with enforced(server.endpoint, client(root, "iam"), users) as (enforcement, keys):
        _check_policy_suffices(root, keys, first, second)
        for kind, document in documents.items():
            commands = _commands(kind, first)
            for sid, failing in REFUSED[kind].items():
                enforcement.grant(keys[kind], moto_view(without_statement(document, sid)))
                [statement] = [s for s in document["Statement"] if s["Sid"] == sid]
                for name in failing:
                    _check_refused(run_as(root, keys[kind], commands[name]), kind, statement)
            enforcement.grant(keys[kind], users[kind])
    check_arns_name_the_stack(root, env, documents)


def _check_policy_suffices(root: Path, keys: dict[str, Keys], first: str, second: str) -> None:
    for args in (("deploy", "--image", first), ("deploy", "--image", second)):
        _ok(run_as(root, keys["deploy"], args), args)
    releases = run_as(root, keys["deploy"], ("releases",))
    _ok(releases, ("releases",))
    assert first.rsplit("@", 1)[1][:19] in releases.stdout, releases.stdout
    _ok(run_as(root, keys["deploy"], ("rollback",)), ("rollback",))
    for args in (("status",), ("logs",), ("scale", "1"), ("secrets", "list")):
        _ok(run_as(root, keys["operate"], args), args)


def _ok(result: Any, args: tuple[str, ...]) -> None:
    assert result.code == 0, (
        f"hakobu {' '.join(args)} as the least-privilege user:\n{result.output}"
    )


def _check_refused(result: Any, kind: str, statement: dict[str, Any]) -> None:
    """One message: an action of the removed statement, on a resource it grants, and the
    policy to attach."""
    where = f"without {statement['Sid']}:\n{result.output}"
    assert result.code == 1, where
    assert result.stderr.count("Error:") == 1 and "Traceback" not in result.output, where
    error = next(line for line in result.stderr.splitlines() if line.startswith("Error:"))
    action, _, resource = error.removeprefix("Error: your AWS credentials may not do ").partition(
        " on "
    )
    resource = resource.removesuffix(" (AccessDenied)")
    assert action in statement["Action"], where
    assert _granted(resource, statement["Resource"]), where
    assert f"`hakobu iam policy {kind}` prints the policy" in result.stderr, where


def _granted(arn: str, resources: str | list[str]) -> bool:
    patterns = [resources] if isinstance(resources, str) else resources
    return any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns)


def check_arns_name_the_stack(
    root: Path, env: Environment, documents: dict[str, dict[str, Any]]
) -> None:
    """What moto cannot evaluate: each scoped statement names the stack's real ARNs."""
    names = Names.of(env)
    ecs, iam = client(root, "ecs"), client(root, "iam")
    [service] = ecs.describe_services(cluster=names.cluster, services=[names.service])["services"]
    [group] = client(root, "logs").describe_log_groups(logGroupNamePrefix=names.log_group)[
        "logGroups"
    ]
    tasks = ecs.list_tasks(cluster=names.cluster, desiredStatus="STOPPED")["taskArns"]
    tasks += ecs.list_tasks(cluster=names.cluster)["taskArns"]
    assert tasks, "the deploys above started release tasks"
    secrets = client(root, "secretsmanager")
    real = {
        "RegisterRevisionsOfFamily": [service["taskDefinition"]],
        "DescribeAndUpdateService": [service["serviceArn"]],
        "RunOneOffTasksInCluster": [service["taskDefinition"]],
        "FollowOneOffTasks": tasks,
        "PushAndReadImages": [
            client(root, "ecr").describe_repositories(repositoryNames=[names.repository])[
                "repositories"
            ][0]["repositoryArn"]
        ],
        "PassTaskRolesToEcsTasks": [
            iam.get_role(RoleName=role)["Role"]["Arn"]
            for role in (names.execution_role, names.task_role)
        ],
        "ReadLogGroup": [group["arn"]],
    }
    operate = {
        "DescribeAndScaleService": [service["serviceArn"]],
        "DescribeTasks": tasks,
        "DatabaseStatusAndPause": [
            client(root, "rds").describe_db_instances(DBInstanceIdentifier=names.db_instance)[
                "DBInstances"
            ][0]["DBInstanceArn"]
        ],
        "AppSecrets": [
            secrets.describe_secret(SecretId=m.secret)["ARN"] for m in managed_secrets(env)
        ],
        "ReadLogGroup": [group["arn"]],
    }
    for kind, wanted in (("deploy", real), ("operate", operate)):
        statements = {s["Sid"]: s for s in documents[kind]["Statement"]}
        for sid, arns in wanted.items():
            for arn in arns:
                assert _granted(arn, statements[sid]["Resource"]), (kind, sid, arn)
