"""`hakobu doctor`: the guide's troubleshooting section as named checks with their fixes.

The guide's "トラブルシューティング" names four failures and the `aws` commands to look into
them: a secret "already scheduled for deletion", tasks that do not start, a database that
cannot be reached, a wrong RAILS_MASTER_KEY; its step 1 checks the credentials with
`aws sts get-caller-identity`. Each is a check here, with those the guide leaves to the
reader: local tools, unhealthy targets, NAT routes, the image in ECR, MySQL 8.0 on
Extended Support.

The shape is ecspresso's verify.go: a tree of groups and named checks, each ok, warning or
problem with the fix, or skipped with the reason when a prerequisite failed (no
credentials: every AWS check). A check is a small function of `Facts`, which makes each
describe call at most once, when a check first needs it, and shares the answer (the routes
and the database path read the same `describe_subnets`). Nothing here prints:
`run_checks` returns data, the CLI renders it.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import json
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, Protocol, TypeVar

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from hakobu.app_secrets import managed_secrets
from hakobu.aws.ecs import service_description
from hakobu.aws.logs import task_log_lines, task_log_stream
from hakobu.aws.secrets import master_key_source, read_master_key
from hakobu.blueprint.secrets import uses_master_key
from hakobu.blueprint.service import BOOTSTRAP_TAG
from hakobu.config import Environment
from hakobu.cost import HOURS_PER_MONTH, RDS_VCPUS
from hakobu.errors import HakobuError, aws_error
from hakobu.image import find_builder
from hakobu.names import Names
from hakobu.prices import load_prices
from hakobu.rollout import StoppedTask, stopped_task, target_line
from hakobu.sessions import PLUGIN, PLUGIN_INSTALL, require_mysql
from hakobu.terraform import find_engine

Status = Literal["ok", "warning", "problem", "skipped"]
OK: Status = "ok"
WARNING: Status = "warning"
PROBLEM: Status = "problem"
SKIPPED: Status = "skipped"
JSON_VERSION = 1

LOCAL, ACCOUNT, SECRETS = "local machine", "AWS account", "secrets"
SERVICE, NETWORK, DATABASE, REGISTRY = "service", "network", "database", "registry"
GROUPS = (LOCAL, ACCOUNT, SECRETS, SERVICE, NETWORK, DATABASE, REGISTRY)

# Write-only arguments (the DB password never in state) need Terraform / OpenTofu 1.11.
MIN_ENGINE = (1, 11)
PROBE_TIMEOUT_S = 15.0
MYSQL_PORT = 3306
ANYWHERE = "0.0.0.0/0"
LOG_LINES_SHOWN = 10
# RDS for MySQL 8.0 left standard support on 2026-07-31; Extended Support bills from then.
EXTENDED_SUPPORT_FROM = date(2026, 8, 1)
# ECS's stop codes for a task that never started or whose app exited; the others
# (ServiceSchedulerInitiated, UserInitiated, SpotInterruption, TerminationNotice) are
# deployments, scaling and Spot, which stop healthy tasks too.
FAILED_STOP_CODES = frozenset({"TaskFailedToStart", "EssentialContainerExited"})
# The one failure ECS reports only in words: a task stopped by the scheduler because the
# load balancer's (or the container's) health checks failed. AWS's fixed phrase.
HEALTH_CHECK_WORDS = "health check"
# Error names ECS puts in stoppedReason / container reason (documented in "Amazon ECS
# stopped task error messages"), with what they mean for this stack.
STOP_HINTS = (
    (
        "CannotPullContainerError",
        "the image could not be pulled: see registry › service image, and network › routes "
        "(private tasks pull through the NAT Gateway)",
    ),
    (
        "ResourceInitializationError",
        "the task could not read its secrets or set up logging before starting: see "
        "secrets, and network › routes (private tasks reach Secrets Manager and CloudWatch "
        "Logs through the NAT Gateway)",
    ),
    (
        "OutOfMemoryError",
        "the container ran out of memory: raise service.memory in hakobu.toml and run hakobu up",
    ),
    (
        HEALTH_CHECK_WORDS,
        "the load balancer's health checks failed: see service › target health; the app "
        "must answer service.health_check_path with 200 on service.port",
    ),
)
ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)

T = TypeVar("T")


class AwsClients(Protocol):
    """A `Target`, or a test double whose clients answer from botocore Stubbers."""

    @property
    def sandbox(self) -> bool: ...

    def client(self, service: str) -> Any: ...


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """One named check in one group: its status, what was found and what to do."""

    name: str
    group: str
    status: Status
    message: str
    fix: str | None = None
    details: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "group": self.group,
            "status": self.status,
            "message": self.message,
            "fix": self.fix,
            "details": list(self.details),
        }


@dataclass(frozen=True)
class Finding:
    """What a check function returns; the runner adds the check's name and group."""

    status: Status
    message: str
    fix: str | None = None
    details: tuple[str, ...] = ()


def ok(message: str, details: Iterable[str] = ()) -> Finding:
    return Finding(OK, message, None, tuple(details))


def warning(message: str, fix: str | None, details: Iterable[str] = ()) -> Finding:
    return Finding(WARNING, message, fix, tuple(details))


def problem(message: str, fix: str | None, details: Iterable[str] = ()) -> Finding:
    return Finding(PROBLEM, message, fix, tuple(details))


class Skip(Exception):
    """Raised by a check (or a fact it needs) when there is nothing to check, and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Check:
    name: str
    group: str
    run: Callable[[Facts], Finding]
    # Checks that must have passed (ok or warning) for this one to mean anything.
    requires: tuple[str, ...] = ()


def exit_code(results: Iterable[CheckResult]) -> int:
    """1 when any check found a problem; warnings alone leave it 0."""
    return 1 if any(r.status == PROBLEM for r in results) else 0


def counts(results: Iterable[CheckResult]) -> dict[str, int]:
    found = Counter(r.status for r in results)
    return {status: found[status] for status in (OK, WARNING, PROBLEM, SKIPPED)}


def report_json(env: Environment, aws: AwsClients, results: list[CheckResult]) -> dict[str, Any]:
    """The `--json` envelope; `version` changes only when a field changes meaning."""
    return {
        "version": JSON_VERSION,
        "environment": env.name,
        "region": env.region,
        "sandbox": aws.sandbox,
        "healthy": exit_code(results) == 0,
        "counts": counts(results),
        "checks": [r.as_json() for r in results],
    }


# --- running ------------------------------------------------------------------------------


def run_checks(
    env: Environment,
    target: AwsClients,
    *,
    checks: Iterable[Check] | None = None,
    facts: Facts | None = None,
) -> list[CheckResult]:
    """Run `checks` (default: every check for `env`) in order; one result each."""
    facts = facts or Facts(env, target)
    done: dict[str, CheckResult] = {}
    for check in checks if checks is not None else default_checks(env):
        done[check.name] = _run(check, facts, done)
    return list(done.values())


def _run(check: Check, facts: Facts, done: Mapping[str, CheckResult]) -> CheckResult:
    blocker = next(
        (done[n] for n in check.requires if n in done and done[n].status in (PROBLEM, SKIPPED)),
        None,
    )
    if blocker is not None:
        return _result(check, Finding(SKIPPED, f"needs {_path(blocker)}: {blocker.message}"))
    try:
        finding = check.run(facts)
    except Skip as skip:
        finding = Finding(SKIPPED, skip.reason)
    except (ClientError, BotoCoreError) as exc:
        # One refused call (a missing IAM permission) must not end the whole diagnosis.
        error = aws_error(exc)
        finding = problem(error.problem, error.fix)
    except HakobuError as exc:
        finding = problem(exc.problem, exc.fix)
    return _result(check, finding)


def _result(check: Check, finding: Finding) -> CheckResult:
    return CheckResult(
        check.name, check.group, finding.status, finding.message, finding.fix, finding.details
    )


def _path(result: CheckResult) -> str:
    return f"{result.group} › {result.name}"


# --- facts: each describe call at most once, shared by the checks -------------------------


def fact(method: Callable[[Facts], T]) -> property:
    """A lazily computed, cached fact. A failure is cached too, so every check that needs
    a fact AWS refused reports the same refusal without asking again."""

    @functools.wraps(method)
    def cached(self: Facts) -> T:
        key = method.__name__
        if key not in self.memo:
            try:
                self.memo[key] = (True, method(self))
            except Exception as exc:  # re-raised to each check that reads the fact
                self.memo[key] = (False, exc)
        succeeded, value = self.memo[key]
        if not succeeded:
            raise value
        return value  # type: ignore[no-any-return]

    return property(cached)


@dataclass
class Facts:
    """What the checks read from the machine and from AWS, fetched on first use."""

    env: Environment
    aws: AwsClients
    today: date = field(default_factory=lambda: datetime.now(UTC).date())
    memo: dict[str, tuple[bool, Any]] = field(default_factory=dict)
    clients: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> Names:
        return Names.of(self.env)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = self.aws.client(service)
        return self.clients[service]

    @fact
    def identity(self) -> dict[str, str]:
        answer = self.client("sts").get_caller_identity()
        return {key: answer[key] for key in ("UserId", "Account", "Arn")}

    @fact
    def service_lookup(self) -> tuple[dict[str, Any] | None, HakobuError | None]:
        """The service, or None and why (a missing cluster or service is a finding)."""
        names = self.names
        try:
            return service_description(self.client("ecs"), names.cluster, names.service), None
        except HakobuError as exc:
            return None, exc

    def service(self) -> dict[str, Any]:
        found, why = self.service_lookup
        if found is None:
            raise Skip(f"no service to look at: {why.problem if why else 'not found'}")
        return found

    def task_network(self) -> dict[str, Any]:
        network = self.service().get("networkConfiguration", {}).get("awsvpcConfiguration")
        if not network:
            raise Skip("the service has no awsvpc network configuration")
        return dict(network)

    @fact
    def task_definition(self) -> dict[str, Any]:
        arn = self.service()["taskDefinition"]
        described = self.client("ecs").describe_task_definition(taskDefinition=arn)
        return dict(described["taskDefinition"])

    @fact
    def secrets(self) -> dict[str, dict[str, Any] | None]:
        """Each managed secret's metadata (never its value); None when it does not exist."""
        client = self.client("secretsmanager")
        found: dict[str, dict[str, Any] | None] = {}
        for managed in managed_secrets(self.env):
            try:
                found[managed.secret] = dict(client.describe_secret(SecretId=managed.secret))
            except client.exceptions.ResourceNotFoundException:
                found[managed.secret] = None
        return found

    def secret_value(self, secret_id: str) -> str | None:
        """The current value, read only to be checked or hashed, never returned to print."""
        client = self.client("secretsmanager")
        try:
            # By stage: what tasks get (and moto returns a stale version without one).
            answer = client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")
        except client.exceptions.ResourceNotFoundException:
            return None  # the secret exists but has no current version
        value = answer.get("SecretString")
        return str(value) if value is not None else None

    @fact
    def db_instance(self) -> dict[str, Any] | None:
        rds = self.client("rds")
        try:
            found = rds.describe_db_instances(DBInstanceIdentifier=self.names.db_instance)
        except rds.exceptions.DBInstanceNotFoundFault:
            return None
        instances = found.get("DBInstances", [])
        return dict(instances[0]) if instances else None

    def database(self) -> dict[str, Any]:
        found = self.db_instance
        if found is None:
            raise Skip(f"no DB instance {self.names.db_instance} (see {DATABASE} › db instance)")
        return found

    @fact
    def subnets(self) -> dict[str, dict[str, Any]]:
        """The tasks' and the database's subnets, by id, in one call."""
        ids = list(dict.fromkeys([*self._task_subnet_ids(), *self._db_subnet_ids()]))
        if not ids:
            return {}
        answer = self.client("ec2").describe_subnets(SubnetIds=ids)
        return {s["SubnetId"]: s for s in answer.get("Subnets", [])}

    def _task_subnet_ids(self) -> list[str]:
        found, _ = self.service_lookup
        network = (found or {}).get("networkConfiguration", {}).get("awsvpcConfiguration", {})
        return list(network.get("subnets", []))

    def _db_subnet_ids(self) -> list[str]:
        try:
            db = self.db_instance or {}
        except (ClientError, BotoCoreError):
            db = {}  # the database checks report that refusal; the routes need no DB
        return [s["SubnetIdentifier"] for s in db.get("DBSubnetGroup", {}).get("Subnets", [])]

    @fact
    def route_tables(self) -> list[dict[str, Any]]:
        vpcs = sorted({s["VpcId"] for s in self.subnets.values()})
        if not vpcs:
            return []
        answer = self.client("ec2").describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": vpcs}]
        )
        return list(answer.get("RouteTables", []))

    @fact
    def nat_gateways(self) -> dict[str, dict[str, Any]]:
        """The NAT Gateways the route tables point at (a deleted one is still described)."""
        ids = sorted(
            {
                r["NatGatewayId"]
                for t in self.route_tables
                for r in t.get("Routes", [])
                if r.get("NatGatewayId")
            }
        )
        if not ids:
            return {}
        answer = self.client("ec2").describe_nat_gateways(NatGatewayIds=ids)
        return {n["NatGatewayId"]: n for n in answer.get("NatGateways", [])}

    @fact
    def security_groups(self) -> dict[str, dict[str, Any]]:
        """The tasks' and the database's security groups, by id, in one call."""
        tasks = self.task_network().get("securityGroups", [])
        ids = list(dict.fromkeys([*tasks, *db_groups(self.database())]))
        if not ids:
            return {}
        answer = self.client("ec2").describe_security_groups(GroupIds=ids)
        return {g["GroupId"]: g for g in answer.get("SecurityGroups", [])}

    @fact
    def stopped_tasks(self) -> list[dict[str, Any]]:
        """The service's stopped tasks (ECS keeps them about an hour), newest first."""
        names, ecs = self.names, self.client("ecs")
        self.service()
        arns = ecs.list_tasks(
            cluster=names.cluster,
            serviceName=names.service,
            desiredStatus="STOPPED",
            maxResults=100,
        ).get("taskArns", [])
        if not arns:
            return []
        tasks = ecs.describe_tasks(cluster=names.cluster, tasks=arns).get("tasks", [])
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        return sorted(tasks, key=lambda t: t.get("stoppedAt") or epoch, reverse=True)

    @fact
    def target_health(self) -> list[tuple[str, list[dict[str, Any]]]]:
        arns = [lb["targetGroupArn"] for lb in self.service().get("loadBalancers", [])]
        elbv2 = self.client("elbv2")
        return [
            (arn, elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"])
            for arn in dict.fromkeys(a for a in arns if a)
        ]

    def log_lines(self, task_arn: str) -> list[str]:
        stream = task_log_stream(self.names.container, task_arn)
        lines = task_log_lines(
            self.client("logs"),
            self.names.log_group,
            stream,
            start_from_head=False,
            limit=LOG_LINES_SHOWN,
        )
        return [line.message for line in lines]


def db_groups(db: Mapping[str, Any]) -> list[str]:
    return [
        g["VpcSecurityGroupId"]
        for g in db.get("VpcSecurityGroups", [])
        if g.get("Status", "active") == "active"
    ]


# --- the checks, in the order (and groups) they are shown -----------------------------------

AWS_GATE = ("credentials",)


def default_checks(env: Environment) -> list[Check]:
    """Every check for `env`: one per managed secret, the master key for Rails only."""
    names = Names.of(env)
    checks = [
        Check("terraform", LOCAL, check_engine),
        Check("image builder", LOCAL, check_builder),
        Check("session-manager-plugin", LOCAL, check_plugin),
        Check("mysql client", LOCAL, check_mysql),
        Check("credentials", ACCOUNT, check_credentials),
        Check("region", ACCOUNT, check_region),
    ]
    for managed in managed_secrets(env):
        run = functools.partial(check_secret, secret=managed.secret, what=managed.what)
        checks.append(Check(managed.secret, SECRETS, run, AWS_GATE))
    if uses_master_key(env):
        checks.append(
            Check("master key", SECRETS, check_master_key, (*AWS_GATE, names.master_key_secret))
        )
    return [
        *checks,
        Check("service", SERVICE, check_service, AWS_GATE),
        Check("stopped tasks", SERVICE, check_stopped_tasks, AWS_GATE),
        Check("target health", SERVICE, check_targets, AWS_GATE),
        Check("routes", NETWORK, check_routes, AWS_GATE),
        Check("db instance", DATABASE, check_db_instance, AWS_GATE),
        Check("security groups", DATABASE, check_db_path, AWS_GATE),
        Check("db password", DATABASE, check_db_password, (*AWS_GATE, names.db_password_secret)),
        Check("engine version", DATABASE, check_engine_version, AWS_GATE),
        Check("service image", REGISTRY, check_image, AWS_GATE),
    ]


# --- local machine --------------------------------------------------------------------------


def check_engine(facts: Facts) -> Finding:
    """Terraform or OpenTofu on PATH (or $HAKOBU_TERRAFORM), new enough for hakobu."""
    try:
        path = find_engine()
    except HakobuError as exc:
        return problem(exc.problem, exc.fix)
    name = os.path.basename(path)
    version = engine_version(path)
    if version is None:
        return warning(
            f"{name} at {path} did not say its version",
            f"run `{name} version`; hakobu needs {_dotted(MIN_ENGINE)} or newer",
        )
    if version[:2] < MIN_ENGINE:
        return problem(
            f"{name} {_dotted(version)} at {path} is too old: hakobu needs "
            f"{_dotted(MIN_ENGINE)} or newer (write-only arguments keep the DB password out "
            "of the state)",
            "upgrade it (https://developer.hashicorp.com/terraform/install, or "
            "`brew upgrade hashicorp/tap/terraform`), or set HAKOBU_TERRAFORM to a newer one",
        )
    return ok(f"{name} {_dotted(version)} at {path}")


def engine_version(path: str) -> tuple[int, ...] | None:
    """`terraform version` (or tofu's) as numbers; None if it failed or said nothing."""
    # CHECKPOINT_DISABLE: `terraform version` otherwise asks HashiCorp for a newer release.
    environ = {**os.environ, "CHECKPOINT_DISABLE": "1"}
    try:
        answer = subprocess.run(
            [path, "version"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            env=environ,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r"v(\d+)\.(\d+)\.(\d+)", answer.stdout)
    return tuple(int(part) for part in found.groups()) if found else None


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


def check_builder(facts: Facts) -> Finding:
    """What `hakobu deploy` builds with: deploy.builder, else docker (with a daemon),
    podman or buildah."""
    preferred = facts.env.settings.deploy.builder
    try:
        builder = find_builder(preferred)
    except HakobuError as exc:
        return problem(
            f"{exc.problem}: `hakobu deploy` cannot build (it can still deploy --image)",
            exc.fix,
        )
    chosen = " (deploy.builder)" if preferred else ""
    return ok(f"{builder.name} at {builder.path}{chosen}")


def check_plugin(facts: Facts) -> Finding:
    path = shutil.which(PLUGIN)
    if path is None:
        return warning(
            "not installed: `hakobu exec`, `console` and `db` hand their sessions to it "
            "(deploys do not need it)",
            PLUGIN_INSTALL,
        )
    return ok(f"at {path}")


def check_mysql(facts: Facts) -> Finding:
    try:
        path = require_mysql()
    except HakobuError as exc:
        return warning("not installed: `hakobu db shell` needs it", exc.fix)
    return ok(f"at {path}")


# --- AWS account ----------------------------------------------------------------------------

CREDENTIALS_FIX = (
    "run `aws configure` (or `aws sso login`, or set AWS_PROFILE), then check with "
    "`aws sts get-caller-identity`; or try everything locally with --sandbox"
)


def check_credentials(facts: Facts) -> Finding:
    """The guide's step 1, `aws sts get-caller-identity`, shown as the guide shows it."""
    try:
        identity = facts.identity
    except NoCredentialsError:
        return problem("no AWS credentials were found", CREDENTIALS_FIX)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return problem(
            f"AWS rejected the credentials: {error.get('Code', '?')}: {error.get('Message', '')}",
            CREDENTIALS_FIX,
        )
    whose = " (the sandbox emulator's)" if facts.aws.sandbox else ""
    return ok(
        f"account {identity['Account']}{whose} as {identity['Arn']}",
        json.dumps(identity, indent=4).splitlines(),
    )


def check_region(facts: Facts) -> Finding:
    """hakobu uses hakobu.toml's region; the guide's `aws` commands use the CLI's default."""
    region = facts.env.region
    if facts.aws.sandbox:
        return ok(f"{region} (hakobu.toml), in the sandbox emulator")
    import boto3  # lazily, as hakobu.target does: it costs ~0.2 s to import

    try:
        default = boto3.Session().region_name
    except BotoCoreError:
        default = None  # a broken profile is the credentials check's to report
    if default and default != region:
        return warning(
            f"hakobu uses {region} (hakobu.toml), but the aws CLI's default region is "
            f"{default}: the guide's `aws` commands without --region look in {default}",
            f"`aws configure set region {region}` (or export AWS_REGION={region}), or pass "
            f"--region {region} to aws commands",
        )
    if default is None:
        return ok(f"{region} (hakobu.toml); the aws CLI has no default region, so pass "
                  f"--region {region} to the guide's aws commands")  # fmt: skip
    return ok(f"{region} (hakobu.toml and the aws CLI's default)")


# --- secrets --------------------------------------------------------------------------------


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
            f"the {what} secret is scheduled for deletion (deleted {_when(deleted)}): tasks "
            'cannot read it, and Terraform fails on its name ("already scheduled for '
            'deletion")',
            "run `hakobu up`: it restores the secret with its value (or `aws "
            f"secretsmanager restore-secret --secret-id {secret}`). Do not force-delete it "
            "as the guide suggests: --force-delete-without-recovery loses the value for good",
        )
    changed = described.get("LastChangedDate")
    since = f", last changed {_when(changed)}" if changed else ""
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


# --- service --------------------------------------------------------------------------------


def check_service(facts: Facts) -> Finding:
    found, why = facts.service_lookup
    if found is None:
        error = why or HakobuError("the service was not found", "run hakobu up")
        return problem(error.problem, error.fix)
    desired, running = found.get("desiredCount", 0), found.get("runningCount", 0)
    line = (
        f"{found.get('serviceName', facts.names.service)} {found.get('status', '?')}: "
        f"running {running} of {desired} ({found.get('pendingCount', 0)} pending), "
        f"{found['taskDefinition'].rsplit('/', 1)[-1]}"
    )
    if running >= desired:
        return ok(line)
    why_not = " (the sandbox emulator never runs a task)" if facts.aws.sandbox else ""
    return warning(
        f"{line}: not every task is running{why_not}",
        "see service › stopped tasks for why tasks stop; `hakobu status --watch` follows "
        "the service",
    )


def check_stopped_tasks(facts: Facts) -> Finding:
    """The guide's "タスクが起動しない": stopped reasons, exit codes, the last log lines."""
    tasks = facts.stopped_tasks
    failed = [t for t in tasks if failed_task(t)]
    if not tasks:
        return ok("no task of the service stopped recently (ECS keeps stopped tasks ~1 hour)")
    if not failed:
        return ok(f"{len(tasks)} task(s) stopped recently, by deployments or scaling; none failed")
    newest = stopped_task(failed[0])
    details = [stopped_task(t).text() for t in failed[:5]]
    details += _log_details(facts, newest)
    return problem(
        f"{len(failed)} recently stopped task(s) failed; the newest: {newest.text()}",
        stop_fix(failed[0]),
        details,
    )


def failed_task(task: Mapping[str, Any]) -> bool:
    """A task that did not start or whose app exited, not one a deployment replaced."""
    if task.get("stopCode") in FAILED_STOP_CODES:
        return True
    if any(c.get("exitCode") not in (None, 0) for c in task.get("containers", [])):
        return True
    return HEALTH_CHECK_WORDS in (task.get("stoppedReason") or "").lower()


def stop_fix(task: Mapping[str, Any]) -> str:
    """What to do about a failed task, from ECS's error names and the exit code."""
    containers = task.get("containers", [])
    said = " ".join([task.get("stoppedReason") or "", *(c.get("reason") or "" for c in containers)])
    hints = [hint for needle, hint in STOP_HINTS if needle.lower() in said.lower()]
    codes = [c["exitCode"] for c in containers if c.get("exitCode") not in (None, 0)]
    if 137 in codes:
        hints.append(
            "exit code 137: the container was killed (out of memory: raise service.memory; "
            "or it ignored SIGTERM)"
        )
    elif codes:
        hints.append(
            f"the app exited with code {codes[0]}: the log lines say why; `hakobu logs` shows more"
        )
    return "; ".join(hints) or "read the log lines and `hakobu logs`"


def _log_details(facts: Facts, task: StoppedTask) -> list[str]:
    task_id = task.task_arn.rsplit("/", 1)[-1]
    try:
        lines = facts.log_lines(task.task_arn)
    except (ClientError, BotoCoreError) as exc:
        return [f"its log lines could not be read: {aws_error(exc).problem}"]
    if not lines:
        return [f"task {task_id} wrote no log lines (it stopped before the app started)"]
    return [f"last log lines of task {task_id}:", *(f"  {line}" for line in lines)]


def check_targets(facts: Facts) -> Finding:
    """Target health in the load balancer, each reason code in words (TARGET_REASONS)."""
    groups = facts.target_health
    if not groups:
        raise Skip("the service has no load balancer target group")
    targets = [target_line(d) for _, found in groups for d in found]
    lines = [t.text() for t in targets]
    if not targets:
        if facts.service().get("desiredCount", 0) == 0:
            return ok("no targets: the service is scaled to zero")
        return warning(
            "no targets registered: no task of the service runs yet (ECS registers each "
            "task once it runs)",
            "see service › stopped tasks; `hakobu status --watch` shows tasks as they start",
        )
    sick = [t for t in targets if t.state in ("unhealthy", "unavailable")]
    if sick:
        first = sick[0]
        said = f" ({first.description})" if first.description else ""
        return problem(
            f"{len(sick)} of {len(targets)} target(s) unhealthy; {first.target}: "
            f"{first.reason or first.state}{said}",
            first.explanation or "check the app's logs (`hakobu logs`)",
            lines,
        )
    waiting = [t for t in targets if t.state != "healthy"]
    if waiting:
        return warning(
            f"{len(waiting)} of {len(targets)} target(s) not healthy yet ({waiting[0].state})",
            waiting[0].explanation,
            lines,
        )
    return ok(f"{len(targets)} of {len(targets)} target(s) healthy", lines)


# --- network --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Egress:
    """How one of the tasks' subnets reaches the internet."""

    status: Status
    line: str


def check_routes(facts: Facts) -> Finding:
    """Private tasks reach ECR, Secrets Manager and CloudWatch Logs through a NAT Gateway;
    with public IPs (the lean profile) through the Internet Gateway."""
    network = facts.task_network()
    public = network.get("assignPublicIp") == "ENABLED"
    verdicts = [subnet_egress(facts, s, public) for s in network.get("subnets", [])]
    details = [v.line for v in verdicts]
    worst = _worst(v.status for v in verdicts)
    if worst == PROBLEM:
        bad = next(v for v in verdicts if v.status == PROBLEM)
        return problem(
            f"{bad.line}: its tasks cannot pull the image, read their secrets or send logs",
            _routes_fix(public),
            details,
        )
    if worst == WARNING:
        odd = next(v for v in verdicts if v.status == WARNING)
        return warning(odd.line, _routes_fix(public), details)
    configured = facts.env.settings.service.public_ip
    if configured != public:
        return warning(
            f"hakobu.toml says service.public_ip = {str(configured).lower()}, but the "
            f"service runs with assignPublicIp {network.get('assignPublicIp')}",
            "run `hakobu up`: it applies hakobu.toml",
            details,
        )
    how = (
        "tasks get public IPs and leave through the Internet Gateway"
        if public
        else "private tasks (no public IP) leave through a NAT Gateway"
    )
    return ok(f"{how}: every subnet routes 0.0.0.0/0 there", details)


def _routes_fix(public: bool) -> str:
    if public:
        return "run `hakobu up`: it restores the public subnets' route to the Internet Gateway"
    return (
        "run `hakobu up`: it restores the NAT Gateway and the private route tables "
        "(network.nat_gateways must be 1 or 2); or run tasks with public IPs instead "
        '(profile = "lean", or service.public_ip = true)'
    )


def subnet_egress(facts: Facts, subnet_id: str, public: bool) -> Egress:
    subnet = facts.subnets.get(subnet_id)
    if subnet is None:
        return Egress(PROBLEM, f"subnet {subnet_id} does not exist")
    name = f"subnet {subnet.get('CidrBlock', '?')} ({subnet_id})"
    table = route_table_of(facts.route_tables, subnet)
    route = next(
        (r for r in (table or {}).get("Routes", []) if r.get("DestinationCidrBlock") == ANYWHERE),
        None,
    )
    if route is None:
        return Egress(PROBLEM, f"{name} has no 0.0.0.0/0 route")
    target = route.get("NatGatewayId") or route.get("GatewayId") or "?"
    if route.get("State") == "blackhole":
        return Egress(PROBLEM, f"{name} routes 0.0.0.0/0 to {target}, which is gone (blackhole)")
    if route.get("NatGatewayId"):
        state = facts.nat_gateways.get(target, {}).get("State", "missing")
        status = OK if state == "available" else PROBLEM
        return Egress(status, f"{name} routes 0.0.0.0/0 to NAT Gateway {target} ({state})")
    if target.startswith("igw-"):
        if public:
            return Egress(OK, f"{name} routes 0.0.0.0/0 to the Internet Gateway {target}")
        return Egress(
            PROBLEM,
            f"{name} routes 0.0.0.0/0 to the Internet Gateway {target}, but the tasks get no "
            "public IP, so they cannot use it",
        )
    return Egress(
        WARNING, f"{name} routes 0.0.0.0/0 to {target}, neither a NAT nor an Internet Gateway"
    )


def route_table_of(
    tables: Iterable[Mapping[str, Any]], subnet: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    """The subnet's route table: its explicit association, else its VPC's main table."""
    main = None
    for table in tables:
        for association in table.get("Associations", []):
            if association.get("SubnetId") == subnet["SubnetId"]:
                return table
            if association.get("Main") and table.get("VpcId") == subnet.get("VpcId"):
                main = table
    return main


def _worst(statuses: Iterable[Status]) -> Status:
    ranked = (PROBLEM, WARNING, OK)
    found = set(statuses)
    return next((s for s in ranked if s in found), OK)


# --- database -------------------------------------------------------------------------------

# RDS instance states in which the app cannot connect until someone acts.
DB_DOWN = frozenset(
    {
        "stopped",
        "stopping",
        "failed",
        "storage-full",
        "incompatible-network",
        "incompatible-option-group",
        "incompatible-parameters",
        "incompatible-restore",
        "inaccessible-encryption-credentials",
        "inaccessible-encryption-credentials-recoverable",
        "insufficient-capacity",
        "restore-error",
        "deleting",
    }
)


def check_db_instance(facts: Facts) -> Finding:
    """The guide's `aws rds describe-db-instances --db-instance-identifier rails-app-db`."""
    db = facts.db_instance
    ident = facts.names.db_instance
    if db is None:
        return problem(f"the DB instance {ident} does not exist", "run `hakobu up`")
    state = db.get("DBInstanceStatus", "unknown")
    multi_az = ", Multi-AZ" if db.get("MultiAZ") else ""
    line = (
        f"{ident} {state} (MySQL {db.get('EngineVersion', '?')}, "
        f"{db.get('DBInstanceClass', '?')}{multi_az})"
    )
    if state == "available":
        return ok(line)
    region = facts.env.region
    if state in ("stopped", "stopping"):
        return problem(
            f"{line}: the app cannot connect to a stopped database",
            f"start it: `aws rds start-db-instance --db-instance-identifier {ident} --region "
            f"{region}` (AWS also starts a stopped instance by itself after seven days)",
        )
    events = (
        f"`aws rds describe-events --source-identifier {ident} --source-type db-instance "
        f"--region {region}` says what happened"
    )
    if state in DB_DOWN:
        return problem(f"{line}: the app cannot connect", events)
    return warning(f"{line}: it may refuse connections until it is available", events)


def check_db_path(facts: Facts) -> Finding:
    """The guide's "セキュリティグループの確認": the DB's security group admits 3306 from
    the tasks' security group, and the tasks' group lets them send to it."""
    db, network = facts.database(), facts.task_network()
    groups, subnets = facts.security_groups, facts.subnets
    task_groups = list(network.get("securityGroups", []))
    db_group_ids = db_groups(db)
    task_cidrs = [subnets[s]["CidrBlock"] for s in network.get("subnets", []) if s in subnets]
    db_cidrs = [subnets[s]["CidrBlock"] for s in facts._db_subnet_ids() if s in subnets]
    tasks_label = _groups_label(groups, task_groups)
    db_label = _groups_label(groups, db_group_ids)
    admitting = [g for g in db_group_ids if _allows(groups.get(g), "in", task_groups, task_cidrs)]
    if not admitting:
        return problem(
            f"the DB's security group {db_label} has no inbound rule for MySQL ({MYSQL_PORT}) "
            f"from the tasks' security group {tasks_label}: the app cannot connect",
            "run `hakobu up`: Terraform puts the rule back. (A rule added by hand makes the "
            "next `hakobu up` fail with InvalidPermission.Duplicate: Terraform does not "
            "know it)",
        )
    sending = [g for g in task_groups if _allows(groups.get(g), "out", db_group_ids, db_cidrs)]
    if not sending:
        return problem(
            f"the tasks' security group {tasks_label} allows no outbound traffic to the "
            f"database on {MYSQL_PORT}: the app cannot connect",
            "run `hakobu up`: Terraform puts the tasks' outbound rule back",
        )
    return ok(
        f"{_groups_label(groups, admitting)} admits MySQL ({MYSQL_PORT}) from the tasks' "
        f"{tasks_label}, which may send to it"
    )


def _allows(
    group: Mapping[str, Any] | None, direction: str, peers: list[str], cidrs: list[str]
) -> bool:
    """A rule of `group` covers 3306 for a peer security group, or for every CIDR."""
    if group is None:
        return False
    rules = group.get("IpPermissions" if direction == "in" else "IpPermissionsEgress", [])
    for rule in rules:
        if not _covers_port(rule, MYSQL_PORT):
            continue
        if any(pair.get("GroupId") in peers for pair in rule.get("UserIdGroupPairs", [])):
            return True
        ranges = [r["CidrIp"] for r in rule.get("IpRanges", []) if r.get("CidrIp")]
        if cidrs and all(any(_inside(c, r) for r in ranges) for c in cidrs):
            return True
    return False


def _covers_port(rule: Mapping[str, Any], port: int) -> bool:
    protocol = str(rule.get("IpProtocol", ""))
    if protocol == "-1":
        return True
    if protocol not in ("tcp", "6"):
        return False
    return int(rule.get("FromPort", -1)) <= port <= int(rule.get("ToPort", -1))


def _inside(cidr: str, block: str) -> bool:
    try:
        return ipaddress.ip_network(cidr).subnet_of(ipaddress.ip_network(block))  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return False


def _groups_label(groups: Mapping[str, Mapping[str, Any]], ids: Iterable[str]) -> str:
    labels = [f"{groups.get(i, {}).get('GroupName', '?')} ({i})" for i in ids]
    return ", ".join(labels) or "(none)"


def check_db_password(facts: Facts) -> Finding:
    """The guide's "Secrets Managerの値を確認", without showing the value."""
    secret = facts.names.db_password_secret
    variable = facts.env.settings.secrets.database_password_env
    if not facts.secret_value(secret):
        return problem(
            f"{secret} has no value: tasks start without {variable} and cannot log in to MySQL",
            "run `hakobu secrets rotate-db`: it sets a new password on the database and in "
            "the secret",
        )
    return ok(f"{secret} has a value (not shown), injected as {variable}")


def check_engine_version(facts: Facts) -> Finding:
    db = facts.database()
    version = str(db.get("EngineVersion", "?"))
    if not version.startswith("8.0"):
        lts = " (LTS, in standard support)" if version.startswith("8.4") else ""
        return ok(f"MySQL {version}{lts}")
    bills = "bills" if facts.today >= EXTENDED_SUPPORT_FROM else "will bill"
    return warning(
        f"MySQL {version} left RDS standard support on 2026-07-31 and {bills} Extended "
        f"Support from {EXTENDED_SUPPORT_FROM}: {extended_support_cost(facts.env, db)}",
        "upgrade to MySQL 8.4 (a major version upgrade: take a snapshot and try it on "
        "staging first; an RDS Blue/Green deployment keeps the downtime short), then set "
        'database.engine_version = "8.4" in hakobu.toml',
    )


def extended_support_cost(env: Environment, db: Mapping[str, Any]) -> str:
    """The surcharge in words, from hakobu's price table (the year 1-2 rate)."""
    instance_class = str(db.get("DBInstanceClass", "?"))
    try:
        price = load_prices().get(env.region, "rds.extended_support.vcpu_hour")
    except HakobuError:
        price = None
    vcpus = RDS_VCPUS.get(instance_class)
    if price is None or vcpus is None:
        return f"a charge per vCPU-hour of {instance_class} (hakobu has no figure for it here)"
    copies = 2 if db.get("MultiAZ") else 1
    monthly = copies * vcpus * HOURS_PER_MONTH * price.usd
    standby = " x 2 (Multi-AZ)" if copies == 2 else ""
    return (
        f"about ${monthly:,.0f} a month on top of the instance ({vcpus} vCPUs{standby} x "
        f"{HOURS_PER_MONTH} h x ${price.usd} per vCPU-hour, the year 1-2 rate; it doubles "
        "from 2028-08-01)"
    )


# --- registry -------------------------------------------------------------------------------


def check_image(facts: Facts) -> Finding:
    """The image the service runs is still in ECR (a lifecycle rule may have expired it)."""
    definition = facts.task_definition
    containers = definition.get("containerDefinitions") or [{}]
    named = [c for c in containers if c.get("name") == facts.names.container]
    image = str((named or containers)[0].get("image", ""))
    found = ECR_IMAGE.match(image)
    if found is None:
        raise Skip(f"the service runs {image or 'no image'}, not an ECR image")
    if found["region"] != facts.env.region:
        raise Skip(f"the service runs an image from ECR in {found['region']}: {image}")
    repository, tag, digest = found["repository"], found["tag"], found["digest"]
    ecr = facts.client("ecr")
    try:
        details = ecr.describe_images(
            registryId=found["account"],
            repositoryName=repository,
            imageIds=[{"imageDigest": digest} if digest else {"imageTag": tag or "latest"}],
        )["imageDetails"]
    except ecr.exceptions.ImageNotFoundException:
        details = []
    except ecr.exceptions.RepositoryNotFoundException:
        return problem(f"the ECR repository {repository} does not exist", "run `hakobu up`")
    short = f"{repository}@{digest[:19]}…" if digest else f"{repository}:{tag or 'latest'}"
    if details:
        tags = ", ".join(details[0].get("imageTags", [])) or "untagged"
        pushed = details[0].get("imagePushedAt")
        when = f"; pushed {_when(pushed)}" if pushed else ""
        return ok(f"{short} is in ECR (tags: {tags}{when})")
    if tag == BOOTSTRAP_TAG and not digest:
        return warning(
            f"no deploy yet: the service runs the placeholder {repository}:{BOOTSTRAP_TAG}, "
            "which nothing pushes, so no task can start",
            "run `hakobu deploy`: it builds, pushes and rolls out the app",
        )
    return problem(
        f"the image the service runs, {short}, is not in ECR (deleted, or expired: the "
        f"repository keeps the newest {facts.env.settings.registry.keep_images}): new tasks "
        "cannot start",
        "run `hakobu deploy` to push and roll out a new image, or `hakobu rollback --to "
        "REVISION` to one whose image is still there (`hakobu images` lists them)",
    )


def _when(moment: Any) -> str:
    if isinstance(moment, datetime):
        return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return str(moment)
