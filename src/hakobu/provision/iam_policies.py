"""The least-privilege IAM policies of the three kinds of hakobu user, from one source.

`hakobu iam policy deploy|operate|provision` prints them, and the GitHub deploy role
(`blueprint.ci`) holds the deploy document built here, so what a person is told to grant
and what CI gets can never drift apart.

Every resource is an ARN of this environment (names from `core.names`), except where AWS
offers no resource-level permission for the action: those statements say so in their Sid
(`...AnyResourceAwsRequires`) and in the comment beside them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from hakobu.aws.sts import caller_identity
from hakobu.core.config import Environment
from hakobu.core.config.processes import workers
from hakobu.core.errors import EXIT_BAD_INPUT, HakobuError
from hakobu.core.names import GITHUB_OIDC_HOST, Names
from hakobu.core.target import Target

Kind = Literal["deploy", "operate", "provision"]
KINDS: tuple[Kind, ...] = ("deploy", "operate", "provision")
Statement = dict[str, Any]
ANY = "*"
ECS_TASKS = "ecs-tasks.amazonaws.com"
# The suffix Secrets Manager appends to every secret's ARN: "-" and six characters.
SECRET_SUFFIX = "-??????"


@dataclass(frozen=True)
class Scope:
    """Where the environment's ARNs live. In the blueprint these are Terraform references."""

    partition: str
    region: str
    account: str


@dataclass(frozen=True)
class Arns:
    """The ARNs of one environment's resources, as IAM policies name them."""

    names: Names
    scope: Scope
    # [processes.NAME] beside web and [[schedules]]: their services and families too.
    workers: tuple[str, ...] = ()
    schedules: tuple[str, ...] = ()
    # [storage] bucket = true: the bucket's name (the default one holds the account id).
    bucket: str | None = None

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        """The ARN of `resource` of `service` in this scope (without a region for
        global services such as IAM): the optional parts name theirs with it too."""
        where = self.scope.region if region else ""
        return f"arn:{self.scope.partition}:{service}:{where}:{self.scope.account}:{resource}"

    @property
    def repository(self) -> str:
        return self.arn("ecr", f"repository/{self.names.repository}")

    @property
    def cluster(self) -> str:
        return self.arn("ecs", f"cluster/{self.names.cluster}")

    @property
    def service(self) -> str:
        return self.arn("ecs", f"service/{self.names.cluster}/{self.names.service}")

    @property
    def task_definitions(self) -> str:
        return self.arn("ecs", f"task-definition/{self.names.task_family}:*")

    @property
    def services(self) -> list[str]:
        """web's service and each worker's."""
        cluster = self.names.cluster
        workers = [
            self.arn("ecs", f"service/{cluster}/{self.names.process(w)}") for w in self.workers
        ]
        return [self.service, *workers]

    @property
    def families(self) -> list[str]:
        """web's task-definition family, each worker's and the schedules' (deploy and
        rollback register revisions in all of them; `schedules run` runs the last)."""
        own = [self.names.process(w) for w in self.workers]
        own += [self.names.schedule_family] if self.schedules else []
        return [self.task_definitions, *(self.arn("ecs", f"task-definition/{f}:*") for f in own)]

    @property
    def schedule_arns(self) -> list[str]:
        return [
            self.arn("scheduler", f"schedule/default/{self.names.schedule(n)}")
            for n in self.schedules
        ]

    @property
    def schedules_dlq(self) -> str:
        return self.arn("sqs", self.names.schedules_dlq)

    @property
    def storage_bucket(self) -> str:
        assert self.bucket is not None, "only an app with [storage] bucket = true has one"
        # S3 bucket ARNs carry neither region nor account: bucket names are global.
        return f"arn:{self.scope.partition}:s3:::{self.bucket}"

    @property
    def tasks(self) -> str:
        return self.arn("ecs", f"task/{self.names.cluster}/*")

    @property
    def container_instances(self) -> str:
        return self.arn("ecs", f"container-instance/{self.names.cluster}/*")

    @property
    def log_group(self) -> str:
        return self.arn("logs", f"log-group:{self.names.log_group}")

    @property
    def log_streams(self) -> str:
        # `log-group:NAME:*` is the group and every stream in it (log-stream:...).
        return self.arn("logs", f"log-group:{self.names.log_group}:*")

    def role(self, name: str) -> str:
        return self.arn("iam", f"role/{name}", region=False)

    @property
    def task_roles(self) -> list[str]:
        return [self.role(self.names.execution_role), self.role(self.names.task_role)]

    @property
    def db_instance(self) -> str:
        return self.arn("rds", f"db:{self.names.db_instance}")

    def secret(self, name_or_prefix: str, suffix: str = SECRET_SUFFIX) -> str:
        return self.arn("secretsmanager", f"secret:{name_or_prefix}{suffix}")

    @property
    def secrets(self) -> list[str]:
        """The environment's managed secrets, and its app secrets (`{prefix}-app-*`)."""
        names = self.names
        managed = [names.db_password_secret, names.master_key_secret]
        managed.append(names.django_secret_key_secret)
        return [*(self.secret(name) for name in managed), self.secret(f"{names.prefix}-app-", "*")]


def _one_or_all(resources: list[str]) -> str | list[str]:
    """One ARN as a string (the policy of an app without workers stays as it was)."""
    return resources[0] if len(resources) == 1 else resources


def allow(
    sid: str, actions: list[str], resources: str | list[str], condition: Statement | None = None
) -> Statement:
    """One Allow statement, its actions sorted; every policy part builds its own with it."""
    statement: Statement = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions)}
    statement["Resource"] = resources
    if condition:
        statement["Condition"] = condition
    return statement


def document(statements: list[Statement]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


# --- deploy ------------------------------------------------------------------------------

ECR_PUSH_PULL = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:ListImages",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
]


def _identity() -> Statement:
    # GetCallerIdentity has no resource: AWS requires "*" (it names who deployed a revision).
    return allow("CallerIdentityAnyResourceAwsRequires", ["sts:GetCallerIdentity"], ANY)


def _task_definition_reads() -> Statement:
    # ECS offers no resource-level permission for these: AWS requires "*".
    return allow(
        "TaskDefinitionReadsAnyResourceAwsRequires",
        ["ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions"],
        ANY,
    )


def _load_balancer_reads() -> Statement:
    # Elastic Load Balancing's Describe* calls take no resource: AWS requires "*".
    return allow(
        "LoadBalancerReadsAnyResourceAwsRequires",
        [
            "elasticloadbalancing:DescribeLoadBalancers",
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetHealth",
        ],
        ANY,
    )


def _register_revisions(arns: Arns) -> Statement:
    # Deregister: a deploy whose release command fails withdraws the revision it registered.
    actions = ["ecs:DeregisterTaskDefinition", "ecs:RegisterTaskDefinition"]
    return allow("RegisterRevisionsOfFamily", actions, _one_or_all(arns.families))


def _tag_new_revisions(arns: Arns) -> Statement:
    # Tags on a new revision (who, which image) are added by the register call itself, which
    # ECS authorizes as a TagResource on create.
    return allow(
        "TagNewRevisions",
        ["ecs:TagResource"],
        _one_or_all(arns.families),
        {"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}},
    )


def _find_log_group() -> Statement:
    # DescribeLogGroups lists by name prefix and takes no resource: AWS requires "*".
    return allow("FindLogGroupAnyResourceAwsRequires", ["logs:DescribeLogGroups"], ANY)


def _pass_task_roles(arns: Arns) -> Statement:
    return allow(
        "PassTaskRolesToEcsTasks",
        ["iam:PassRole"],
        arns.task_roles,
        {"StringEquals": {"iam:PassedToService": ECS_TASKS}},
    )


def _run_tasks(arns: Arns) -> Statement:
    return allow(
        "RunOneOffTasksInCluster",
        ["ecs:RunTask"],
        _one_or_all(arns.families),
        {"ArnEquals": {"ecs:cluster": arns.cluster}},
    )


def _read_logs(arns: Arns) -> Statement:
    return allow(
        "ReadLogGroup",
        ["logs:FilterLogEvents", "logs:GetLogEvents"],
        [arns.log_group, arns.log_streams],
    )


def deploy_statements(arns: Arns) -> list[Statement]:
    """Push the image, register a revision, run its release task and move the service."""
    return [
        _identity(),
        # An ECR login token is account-wide: AWS requires "*" for GetAuthorizationToken.
        allow("EcrLoginAnyResourceAwsRequires", ["ecr:GetAuthorizationToken"], ANY),
        allow("PushAndReadImages", ECR_PUSH_PULL, arns.repository),
        _task_definition_reads(),
        _register_revisions(arns),
        _tag_new_revisions(arns),
        allow(
            "DescribeAndUpdateService",
            ["ecs:DescribeServices", "ecs:UpdateService"],
            _one_or_all(arns.services),
        ),
        _run_tasks(arns),
        allow("FollowOneOffTasks", ["ecs:DescribeTasks", "ecs:StopTask"], arns.tasks),
        _pass_task_roles(arns),
        _read_logs(arns),
        _load_balancer_reads(),
    ]


# --- operate -----------------------------------------------------------------------------

SECRET_ACTIONS = [
    "secretsmanager:CreateSecret",
    "secretsmanager:DeleteSecret",
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:RestoreSecret",
    "secretsmanager:TagResource",
    "secretsmanager:UpdateSecretVersionStage",
]


def operate_statements(arns: Arns) -> list[Statement]:
    """Status, logs, exec and DB sessions, scale, pause/resume and the app's secrets."""
    return [
        _identity(),
        _task_definition_reads(),
        _list_cluster_tasks(arns),
        allow(
            "DescribeAndScaleService",
            ["ecs:DescribeServices", "ecs:UpdateService"],
            _one_or_all(arns.services),
        ),
        allow("DescribeTasks", ["ecs:DescribeTasks", "ecs:StopTask"], arns.tasks),
        allow("ExecIntoTasks", ["ecs:ExecuteCommand"], [arns.cluster, arns.tasks]),
        allow("SessionsToTasks", ["ssm:StartSession"], [arns.tasks, _port_forwarding(arns)]),
        allow(
            "EndOwnSessions",
            ["ssm:TerminateSession", "ssm:ResumeSession"],
            arns.arn("ssm", "session/${aws:userid}-*"),
        ),
        _run_tasks(arns),
        # `hakobu secrets set` registers a revision that reads the new secret.
        # `secrets set`, `unset` and `rotate-db` register tagged revisions, as deploy does.
        _register_revisions(arns),
        _tag_new_revisions(arns),
        _pass_task_roles(arns),
        allow("ReadImages", ["ecr:DescribeImages", "ecr:DescribeRepositories"], arns.repository),
        _read_logs(arns),
        allow("TailLogGroup", ["logs:StartLiveTail"], [arns.log_group, arns.log_streams]),
        _find_log_group(),
        _load_balancer_reads(),
        allow(
            "DatabaseStatusAndPause",
            ["rds:DescribeDBInstances", "rds:StartDBInstance", "rds:StopDBInstance"],
            arns.db_instance,
        ),
        allow("AppSecrets", SECRET_ACTIONS, arns.secrets),
        # ListSecrets and GetRandomPassword take no resource: AWS requires "*".
        allow(
            "ListSecretsAnyResourceAwsRequires",
            ["secretsmanager:GetRandomPassword", "secretsmanager:ListSecrets"],
            ANY,
        ),
    ]


def _port_forwarding(arns: Arns) -> str:
    """The SSM document `hakobu db` forwards the database port through (AWS-owned)."""
    return (
        f"arn:{arns.scope.partition}:ssm:{arns.scope.region}::document/"
        "AWS-StartPortForwardingSessionToRemoteHost"
    )


# --- provision ---------------------------------------------------------------------------

# New EC2 and ELB resources carry the provider's default tags, so writes are bounded by
# ManagedBy = hakobu on the resource (or on the request, for a create).
MANAGED_BY_HAKOBU = {"StringEquals": {"aws:ResourceTag/ManagedBy": "hakobu"}}
TAGGED_HAKOBU_ON_CREATE = {"StringEquals": {"aws:RequestTag/ManagedBy": "hakobu"}}

EC2_CREATE = [
    "ec2:AllocateAddress",
    "ec2:CreateInternetGateway",
    "ec2:CreateNatGateway",
    "ec2:CreateRouteTable",
    "ec2:CreateSecurityGroup",
    "ec2:CreateSubnet",
    "ec2:CreateVpc",
    "ec2:CreateVpcEndpoint",
]
# aws_vpc_security_group_ingress_rule / _egress_rule: each rule is a resource of its own.
EC2_RULE_CREATE = ["ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress"]
EC2_TAGGED_CREATE = [*EC2_CREATE, *EC2_RULE_CREATE]
EC2_CHANGE = [
    "ec2:AssociateRouteTable",
    "ec2:AttachInternetGateway",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:CreateRoute",
    "ec2:DeleteInternetGateway",
    "ec2:DeleteNatGateway",
    "ec2:DeleteRoute",
    "ec2:DeleteRouteTable",
    "ec2:DeleteSecurityGroup",
    "ec2:DeleteSubnet",
    "ec2:DeleteTags",
    "ec2:DeleteVpc",
    "ec2:DeleteVpcEndpoints",
    "ec2:DetachInternetGateway",
    "ec2:DisassociateAddress",
    "ec2:DisassociateRouteTable",
    "ec2:ModifySecurityGroupRules",
    "ec2:ModifySubnetAttribute",
    "ec2:ModifyVpcAttribute",
    "ec2:ReleaseAddress",
    "ec2:ReplaceRoute",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
    "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
]
EC2_READS = [
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAddresses",
    "ec2:DescribeAddressesAttribute",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeNatGateways",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribePrefixLists",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeVpcs",
]
ELB_WRITES = [
    "elasticloadbalancing:AddListenerCertificates",
    "elasticloadbalancing:AddTags",
    "elasticloadbalancing:CreateListener",
    "elasticloadbalancing:CreateLoadBalancer",
    "elasticloadbalancing:CreateRule",
    "elasticloadbalancing:CreateTargetGroup",
    "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:DeleteLoadBalancer",
    "elasticloadbalancing:DeleteRule",
    "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:ModifyLoadBalancerAttributes",
    "elasticloadbalancing:ModifyRule",
    "elasticloadbalancing:ModifyTargetGroup",
    "elasticloadbalancing:ModifyTargetGroupAttributes",
    "elasticloadbalancing:RemoveListenerCertificates",
    "elasticloadbalancing:RemoveTags",
    "elasticloadbalancing:SetSecurityGroups",
    "elasticloadbalancing:SetSubnets",
]
ELB_READS = [
    # The provider (5.100) reads an ALB's capacity reservation on every refresh (found by
    # `up --sandbox` under the emulator's IAM enforcement).
    "elasticloadbalancing:DescribeCapacityReservation",
    "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeListenerCertificates",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
]
ECS_WRITES = [
    "ecs:CreateCluster",
    "ecs:CreateService",
    "ecs:DeleteCluster",
    "ecs:DeleteService",
    "ecs:DescribeClusters",
    "ecs:DescribeServices",
    "ecs:PutClusterCapacityProviders",
    "ecs:RegisterTaskDefinition",
    "ecs:TagResource",
    "ecs:UntagResource",
    "ecs:UpdateCluster",
    "ecs:UpdateService",
]
ECR_WRITES = [
    "ecr:CreateRepository",
    "ecr:DeleteLifecyclePolicy",
    "ecr:DeleteRepository",
    "ecr:DescribeRepositories",
    "ecr:GetLifecyclePolicy",
    "ecr:ListTagsForResource",
    "ecr:PutImageScanningConfiguration",
    "ecr:PutImageTagMutability",
    "ecr:PutLifecyclePolicy",
    "ecr:TagResource",
    "ecr:UntagResource",
]
IAM_ROLE_WRITES = [
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
    "iam:PassRole",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
]
OIDC_PROVIDER_WRITES = [
    "iam:AddClientIDToOpenIDConnectProvider",
    "iam:CreateOpenIDConnectProvider",
    "iam:DeleteOpenIDConnectProvider",
    "iam:GetOpenIDConnectProvider",
    "iam:RemoveClientIDFromOpenIDConnectProvider",
    "iam:TagOpenIDConnectProvider",
    "iam:UntagOpenIDConnectProvider",
    "iam:UpdateOpenIDConnectProviderThumbprint",
]
RDS_WRITES = [
    "rds:AddTagsToResource",
    "rds:CreateDBCluster",
    "rds:CreateDBInstance",
    "rds:CreateDBSubnetGroup",
    "rds:DeleteDBCluster",
    "rds:DeleteDBInstance",
    "rds:DeleteDBSubnetGroup",
    "rds:DescribeDBClusters",
    "rds:DescribeDBInstances",
    "rds:DescribeDBSubnetGroups",
    "rds:ListTagsForResource",
    "rds:ModifyDBCluster",
    "rds:ModifyDBInstance",
    "rds:ModifyDBSubnetGroup",
    "rds:RemoveTagsFromResource",
]
SECRET_WRITES = [
    "secretsmanager:CreateSecret",
    "secretsmanager:DeleteSecret",
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetResourcePolicy",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:TagResource",
    "secretsmanager:UntagResource",
    "secretsmanager:UpdateSecret",
]
LOG_GROUP_WRITES = [
    "logs:CreateLogGroup",
    "logs:DeleteLogGroup",
    "logs:DeleteRetentionPolicy",
    "logs:ListTagsForResource",
    "logs:PutRetentionPolicy",
    "logs:TagResource",
    "logs:UntagResource",
]


# The provision policy is too big for one customer managed policy (6,144 characters), so
# its statements come in groups, each printed as its own policy (`iam_managed_policies`).
Group = Literal["network", "edge", "compute", "iam", "data", "monitoring"]
Grouped = dict[Group, list[Statement]]


def provision_statements(arns: Arns) -> list[Statement]:
    """What `hakobu up` and `hakobu destroy` need for the guide's stack, bounded by names
    and tags: every group's statements, in one list."""
    return [s for group in provision_groups(arns).values() for s in group]


def provision_groups(arns: Arns) -> Grouped:
    groups: Grouped = {
        "network": _network_provisioning(arns),
        "edge": _load_balancer_provisioning(arns),
        "compute": _compute_provisioning(arns),
        "iam": _role_provisioning(arns),
        "data": _data_provisioning(arns),
        "monitoring": [],
    }
    if arns.schedules:
        groups["compute"] += schedule_provisioning(arns)
        groups["iam"] += scheduler_role_provisioning(arns)
    if arns.bucket:
        groups["data"] += storage_provisioning(arns)
    return groups


def _network_provisioning(arns: Arns) -> list[Statement]:
    ec2_any = arns.arn("ec2", "*")  # ids (vpc-..., sg-...) are not known before creation
    return [
        allow("CreateNetworkTaggedHakobu", EC2_CREATE, ec2_any, TAGGED_HAKOBU_ON_CREATE),
        # Tags are set by the create call itself (the provider's default tags); a security
        # group rule (aws_vpc_security_group_*_rule) is created, and tagged, by Authorize*.
        allow(
            "TagNetworkOnCreate",
            ["ec2:CreateTags"],
            ec2_any,
            {"StringEquals": {"ec2:CreateAction": [a.split(":")[1] for a in EC2_TAGGED_CREATE]}},
        ),
        # A new rule has no tags yet to match: it is named by the tags its request gives it.
        allow(
            "CreateSecurityGroupRulesTaggedHakobu",
            EC2_RULE_CREATE,
            arns.arn("ec2", "security-group-rule/*"),
            TAGGED_HAKOBU_ON_CREATE,
        ),
        # The VPC's default security group (aws_default_security_group) exists untagged
        # until the provider gives it the default tags, before it strips its rules. No
        # condition key tells a default group from another, so this allows tagging a
        # group that has no ManagedBy tag yet, never retagging one another tool manages.
        allow(
            "TagDefaultSecurityGroup",
            ["ec2:CreateTags"],
            arns.arn("ec2", "security-group/*"),
            {**TAGGED_HAKOBU_ON_CREATE, "Null": {"aws:ResourceTag/ManagedBy": "true"}},
        ),
        allow("ChangeHakobuNetwork", EC2_CHANGE, ec2_any, MANAGED_BY_HAKOBU),
        # These EC2 Describe* calls take no resource: AWS requires "*".
        allow("NetworkReadsAnyResourceAwsRequires", EC2_READS, ANY),
        allow("ReadNetworkAttributes", ["ec2:DescribeVpcAttribute"], ec2_any),
    ]


def _load_balancer_provisioning(arns: Arns) -> list[Statement]:
    prefix = arns.names.prefix
    return [
        allow(
            "LoadBalancerAndTargetGroup",
            ELB_WRITES,
            [
                arns.arn("elasticloadbalancing", f"loadbalancer/app/{prefix}-*"),
                arns.arn("elasticloadbalancing", f"listener/app/{prefix}-*"),
                arns.arn("elasticloadbalancing", f"listener-rule/app/{prefix}-*"),
                arns.arn("elasticloadbalancing", f"targetgroup/{prefix}-*"),
            ],
        ),
        # Elastic Load Balancing's Describe* calls take no resource: AWS requires "*".
        allow("LoadBalancerReadsAnyResourceAwsRequires", ELB_READS, ANY),
    ]


def _list_cluster_tasks(arns: Arns) -> Statement:
    # ListTasks is authorized on the cluster's container-instance ARNs (Fargate has none to
    # name), and the ecs:cluster condition keeps it to this cluster.
    return allow(
        "ListClusterTasks",
        ["ecs:ListTasks"],
        arns.container_instances,
        {"ArnEquals": {"ecs:cluster": arns.cluster}},
    )


def _compute_provisioning(arns: Arns) -> list[Statement]:
    return [
        _identity(),
        # `up` rolls a changed configuration out; when that rollout fails, it reads why
        # the new tasks stopped, as a deploy does.
        _list_cluster_tasks(arns),
        allow("ReadStoppedTasks", ["ecs:DescribeTasks"], arns.tasks),
        allow(
            "ClusterServiceTaskDefinitions",
            ECS_WRITES,
            [arns.cluster, *arns.services, *arns.families],
        ),
        # Task definitions are read and retired by ARN without resource-level support.
        allow(
            "TaskDefinitionReadsAnyResourceAwsRequires",
            [
                "ecs:DeregisterTaskDefinition",
                "ecs:DescribeTaskDefinition",
                "ecs:ListTaskDefinitions",
            ],
            ANY,
        ),
        allow("Repository", ECR_WRITES, arns.repository),
        allow("LogGroup", LOG_GROUP_WRITES, [arns.log_group, arns.log_streams]),
        _find_log_group(),
    ]


def _role_provisioning(arns: Arns) -> list[Statement]:
    names = arns.names
    return [
        allow(
            "TaskAndDeployRoles",
            IAM_ROLE_WRITES,
            [*arns.task_roles, arns.role(names.github_deploy_role)],
        ),
        allow(
            "GithubOidcProvider",
            OIDC_PROVIDER_WRITES,
            github_oidc_provider(arns),
        ),
        # Finding an existing provider ([ci] oidc_provider = "existing") lists them all:
        # ListOpenIDConnectProviders takes no resource, so AWS requires "*".
        allow("ListOidcProvidersAnyResourceAwsRequires", ["iam:ListOpenIDConnectProviders"], ANY),
    ]


def _data_provisioning(arns: Arns) -> list[Statement]:
    names = arns.names
    prefix = names.prefix
    return [
        allow(
            "Database",
            RDS_WRITES,
            [
                arns.db_instance,
                arns.arn("rds", f"subgrp:{names.db_subnet_group}"),
                arns.arn("rds", f"cluster:{prefix}-*"),
            ],
        ),
        # `final_snapshot = true`: deleting the database takes its last snapshot, which
        # AWS authorizes as a snapshot create (and tags it: copy_tags_to_snapshot).
        allow(
            "FinalSnapshot",
            [
                "rds:AddTagsToResource",
                "rds:CreateDBClusterSnapshot",
                "rds:CreateDBSnapshot",
                "rds:DeleteDBCluster",
                "rds:DeleteDBInstance",
            ],
            [
                arns.db_instance,
                arns.arn("rds", f"cluster:{names.db_cluster}"),
                arns.arn("rds", f"snapshot:{names.db_instance}-final"),
                arns.arn("rds", f"cluster-snapshot:{names.db_cluster}-final"),
            ],
        ),
        # A database created without its own parameter or option group is authorized on
        # the engine's default ones (AWS's, in this account's ARN space).
        allow(
            "DefaultParameterAndOptionGroups",
            ["rds:CreateDBCluster", "rds:CreateDBInstance"],
            [
                arns.arn("rds", "cluster-pg:default.*"),
                arns.arn("rds", "pg:default.*"),
                arns.arn("rds", "og:default:*"),
            ],
        ),
        allow("Secrets", SECRET_WRITES, arns.secrets),
        allow(
            "ListSecretsAnyResourceAwsRequires",
            ["secretsmanager:GetRandomPassword", "secretsmanager:ListSecrets"],
            ANY,
        ),
    ]


# The rendered schedules part (blueprint/schedules.py): aws_scheduler_schedule per
# schedule, the aws_sqs_queue of failed runs and the aws_iam_role Scheduler assumes. Its
# task-definition family is among `Arns.families` (ClusterServiceTaskDefinitions).
SCHEDULE_WRITES = [
    "scheduler:CreateSchedule",
    "scheduler:DeleteSchedule",
    "scheduler:GetSchedule",
    "scheduler:UpdateSchedule",
]
# CreateQueue with the provider's default tags needs TagQueue; the provider reads the
# queue back by URL, attributes and tags.
DEAD_LETTER_QUEUE_WRITES = [
    "sqs:CreateQueue",
    "sqs:DeleteQueue",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ListQueueTags",
    "sqs:SetQueueAttributes",
    "sqs:TagQueue",
    "sqs:UntagQueue",
]
SCHEDULER = "scheduler.amazonaws.com"


def schedule_provisioning(arns: Arns) -> list[Statement]:
    """The schedules and their dead-letter queue."""
    return [
        allow("Schedules", SCHEDULE_WRITES, _one_or_all(arns.schedule_arns)),
        allow("SchedulesDeadLetterQueue", DEAD_LETTER_QUEUE_WRITES, arns.schedules_dlq),
    ]


def scheduler_role_provisioning(arns: Arns) -> list[Statement]:
    """The role Scheduler runs tasks with."""
    role = arns.role(arns.names.scheduler_role)
    return [
        allow("SchedulerRole", [a for a in IAM_ROLE_WRITES if a != "iam:PassRole"], role),
        _pass_scheduler_role(role),
    ]


# The rendered storage part (blueprint/storage.py): aws_s3_bucket with its public access
# block, ownership controls, encryption, versioning, lifecycle and policy resources. A
# delete of each of those sub-resources is authorized by its Put action (S3 has no
# separate Delete* action for them, except the bucket policy's).
STORAGE_BUCKET_WRITES = [
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:GetBucketLocation",
    "s3:GetBucketOwnershipControls",
    "s3:GetBucketPolicy",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketTagging",
    "s3:GetBucketVersioning",
    "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:ListBucket",  # HeadBucket: the provider's existence check
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketPolicy",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketTagging",  # the provider's default tags
    "s3:PutBucketVersioning",
    "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
]
# aws_s3_bucket reads every bucket setting back on each refresh, also those hakobu never
# sets (CORS, website, logging, ...): reads only, no write of them is granted.
STORAGE_BUCKET_REFRESH_READS = [
    "s3:GetAccelerateConfiguration",
    "s3:GetBucketAcl",
    "s3:GetBucketCORS",
    "s3:GetBucketLogging",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetBucketRequestPayment",
    "s3:GetBucketWebsite",
    "s3:GetReplicationConfiguration",
]
# `destroy`: ListObjectVersions tells whether uploads are left; `--delete-data` deletes
# every version and delete marker (DeleteObjects is authorized per object by these two).
STORAGE_EMPTYING = ["s3:DeleteObject", "s3:DeleteObjectVersion"]


def storage_provisioning(arns: Arns) -> list[Statement]:
    """The storage bucket and its settings, and emptying it on `destroy --delete-data`.
    Not s3:GetObject or s3:PutObject: provisioning never reads or writes an upload."""
    bucket = arns.storage_bucket
    return [
        allow(
            "StorageBucket",
            [*STORAGE_BUCKET_WRITES, *STORAGE_BUCKET_REFRESH_READS, "s3:ListBucketVersions"],
            bucket,
        ),
        allow("EmptyStorageBucketOnDeleteData", STORAGE_EMPTYING, f"{bucket}/*"),
    ]


BUILDERS: dict[Kind, Callable[[Arns], list[Statement]]] = {
    "deploy": deploy_statements,
    "operate": operate_statements,
    "provision": provision_statements,
}


def arns_of(env: Environment, scope: Scope) -> Arns:
    from hakobu.provision.blueprint.storage import bucket_name_in

    settings = env.settings
    return Arns(
        Names.of(env),
        scope,
        workers=tuple(workers(env)),
        schedules=tuple(s.name for s in settings.schedules),
        bucket=bucket_name_in(env, scope.account) if settings.storage.bucket else None,
    )


def policy(env: Environment, kind: Kind, scope: Scope) -> dict[str, Any]:
    """The policy document a `kind` user of `env` needs, its ARNs in `scope`.

    For provision this is every statement in one document, too big to create as one
    managed policy: `iam_managed_policies.managed_policies` splits it into those."""
    if kind == "provision":
        groups = provision_policy_groups(env, scope)
        return document([statement for group in groups.values() for statement in group])
    arns = arns_of(env, scope)
    statements = BUILDERS[kind](arns)
    if kind == "operate" and arns.schedules:
        statements += schedule_operations(arns)
    if kind == "operate" and env.settings.ci is not None:
        statements += ci_reads(arns)  # doctor's CI checks; nothing of it without [ci]
    return document(_with_optional_parts(env, arns, kind, statements))


def provision_policy_groups(env: Environment, scope: Scope) -> Grouped:
    """The provision statements by group: the guide's stack and the optional parts."""
    from hakobu.provision import iam_provision_parts as parts  # it builds on this module

    arns = arns_of(env, scope)
    groups = provision_groups(arns)
    for group, statements in parts.provision_part_statements(env, arns).items():
        groups[group] += statements
    return groups


def _with_optional_parts(
    env: Environment, arns: Arns, kind: Kind, statements: list[Statement]
) -> list[Statement]:
    """Aurora, [autoscaling], [alarms] and [domain]: what their commands read or change."""
    from hakobu.provision import iam_optional_parts as parts  # it builds on this module

    return parts.with_optional_parts(env, arns, kind, statements)


def schedule_operations(arns: Arns) -> list[Statement]:
    """`hakobu schedules` and doctor read the schedules and Scheduler's role; pause and
    resume disable and enable them (UpdateSchedule sends the schedule's role again)."""
    role = arns.role(arns.names.scheduler_role)
    return [
        allow("ReadSchedules", ["scheduler:GetSchedule"], arns.schedule_arns),
        allow("ReadSchedulerRole", ["iam:GetRole", "iam:GetRolePolicy"], role),
        allow("PauseAndResumeSchedules", ["scheduler:UpdateSchedule"], arns.schedule_arns),
        _pass_scheduler_role(role),
    ]


def _pass_scheduler_role(role: str) -> Statement:
    # A schedule names its role: CreateSchedule/UpdateSchedule pass it to Scheduler only.
    return allow(
        "PassSchedulerRoleToScheduler",
        ["iam:PassRole"],
        role,
        {"StringEquals": {"iam:PassedToService": SCHEDULER}},
    )


def github_oidc_provider(arns: Arns) -> str:
    return arns.arn("iam", f"oidc-provider/{GITHUB_OIDC_HOST}", region=False)


def ci_reads(arns: Arns) -> list[Statement]:
    """`hakobu doctor` reads which GitHub OIDC provider applies, and the deploy role."""
    return [
        # ListOpenIDConnectProviders takes no resource: AWS requires "*".
        allow("ListOidcProvidersAnyResourceAwsRequires", ["iam:ListOpenIDConnectProviders"], ANY),
        allow(
            "ReadGithubOidcProviderAndDeployRole",
            ["iam:GetOpenIDConnectProvider", "iam:GetRole"],
            [github_oidc_provider(arns), arns.role(arns.names.github_deploy_role)],
        ),
    ]


def policy_json(env: Environment, kind: Kind, scope: Scope) -> str:
    return json.dumps(policy(env, kind, scope), indent=2)


def granting_statement(statements: list[Statement], action: str) -> Statement | None:
    """The statement that grants `action`, to name its resource when AWS refuses it."""
    for statement in statements:
        if any(_matches(pattern, action) for pattern in statement["Action"]):
            return statement
    return None


def _matches(pattern: str, action: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def scope_of(env: Environment, target: Target | None, account: str | None = None) -> Scope:
    """The environment's region, and the account and partition of the caller (STS), unless
    `account` is given: then no AWS call is made (the partition follows the region)."""
    if account is not None:
        if not re.fullmatch(r"[0-9]{12}", account):
            raise PolicyInputError(
                f"--account {account!r} is not an AWS account id",
                "pass the 12 digits, for example --account 123456789012",
            )
        return Scope(partition=_partition(env.region), region=env.region, account=account)
    assert target is not None, "without --account, the caller's account comes from STS"
    identity = caller_identity(target.client("sts"))
    return Scope(
        partition=identity["Arn"].split(":")[1], region=env.region, account=identity["Account"]
    )


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def parse_kind(text: str) -> Kind:
    if text not in KINDS:
        raise PolicyInputError(
            f"{text!r} is not a kind of hakobu user",
            f"use one of {', '.join(KINDS)}: for example `hakobu iam policy deploy`",
        )
    return text  # type: ignore[return-value]


class PolicyInputError(HakobuError):
    """A bad policy kind or account id on the command line: exit 2, nothing called."""

    exit_code = EXIT_BAD_INPUT
