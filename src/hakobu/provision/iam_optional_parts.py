"""What an environment's optional parts add to the deploy and operate policies.

The base documents (`iam_policies`) cover the guide's stack. An Aurora cluster, [autoscaling],
[alarms] and [domain] each bring commands that read or change one more kind of resource:
`status` reads the cluster and its capacity, `pause` stops the cluster and suspends
scaling, `alarms` and `doctor` read the alarms and their topic, `domain status` the
certificates, and `deploy` names the alarm that rolled a rollout back. Without the part,
none of its statements is in the policy.
"""

from __future__ import annotations

from hakobu.core.config import Environment
from hakobu.core.engines import engine
from hakobu.provision.iam_policies import ANY, Arns, Kind, Statement, allow

# The base operate policy's statement for an RDS instance; an Aurora cluster replaces it.
RDS_INSTANCE_SID = "DatabaseStatusAndPause"


def with_optional_parts(
    env: Environment, arns: Arns, kind: Kind, statements: list[Statement]
) -> list[Statement]:
    """`statements` (a base document's) with what the environment's optional parts add."""
    settings = env.settings
    added: list[Statement] = []
    if kind == "operate" and engine(settings.database.engine).aurora:
        statements = [s for s in statements if s["Sid"] != RDS_INSTANCE_SID]
        added += _aurora(arns)
    if kind == "operate" and settings.autoscaling is not None:
        added += _autoscaling(env, arns)
    if settings.alarms is not None and kind in ("deploy", "operate"):
        added += _alarms(arns, kind)
    if kind == "operate" and settings.domain is not None and settings.domain.name:
        added += _certificates(arns, cdn=bool(settings.domain.cdn))
    return statements + added


def _aurora(arns: Arns) -> list[Statement]:
    cluster = arns.names.db_cluster
    return [
        allow(
            "AuroraClusterStatusAndPause",
            ["rds:DescribeDBClusters", "rds:StartDBCluster", "rds:StopDBCluster"],
            arns.arn("rds", f"cluster:{cluster}"),
        ),
        # The cluster's instances are numbered (names.db_cluster_instance).
        allow("AuroraInstances", ["rds:DescribeDBInstances"], arns.arn("rds", f"db:{cluster}-*")),
        # CloudWatch's metric reads take no resource: AWS requires "*". `status` reads the
        # writer's ServerlessDatabaseCapacity (0 when it has paused itself).
        allow("ServerlessCapacityAnyResourceAwsRequires", ["cloudwatch:GetMetricStatistics"], ANY),
    ]


def _autoscaling(env: Environment, arns: Arns) -> list[Statement]:
    return [
        # Application Auto Scaling's Describe* actions take no resource: AWS requires "*".
        allow(
            "ReadAutoScalingAnyResourceAwsRequires",
            [
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:DescribeScalingActivities",
            ],
            ANY,
        ),
        # `pause` suspends scaling (RegisterScalableTarget with SuspendedState). A scalable
        # target's ARN ends in an id AWS makes up, so it is matched by the tags Terraform's
        # default_tags put on it.
        {
            **allow(
                "SuspendAndResumeAutoScaling",
                ["application-autoscaling:RegisterScalableTarget"],
                arns.arn("application-autoscaling", "scalable-target/*"),
            ),
            "Condition": {
                "StringEquals": {
                    "aws:ResourceTag/App": env.app,
                    "aws:ResourceTag/Environment": env.name,
                }
            },
        },
    ]


def _alarms(arns: Arns, kind: Kind) -> list[Statement]:
    alarms = arns.arn("cloudwatch", f"alarm:{arns.names.prefix}-*")
    if kind == "deploy":  # a rollout rolled back by an alarm is reported by that alarm's name
        return [allow("ReadDeploymentAlarms", ["cloudwatch:DescribeAlarms"], alarms)]
    topic = arns.arn("sns", f"{arns.names.prefix}-alarms")
    return [
        allow("ReadAlarms", ["cloudwatch:DescribeAlarms"], alarms),
        allow("ReadAlarmSubscriptions", ["sns:ListSubscriptionsByTopic"], topic),
        # ListTopics takes no resource: AWS requires "*" (the topic is found by its name).
        allow("FindAlarmTopicAnyResourceAwsRequires", ["sns:ListTopics"], ANY),
    ]


def _certificates(arns: Arns, cdn: bool) -> list[Statement]:
    regions = [arns.scope.region] + (["us-east-1"] if cdn else [])
    scope = arns.scope
    return [
        # ListCertificates takes no resource: AWS requires "*". A certificate's ARN ends in
        # an id AWS makes up, so DescribeCertificate names the account's certificates in the
        # regions this environment uses.
        allow("FindCertificatesAnyResourceAwsRequires", ["acm:ListCertificates"], ANY),
        allow(
            "ReadCertificates",
            ["acm:DescribeCertificate"],
            [f"arn:{scope.partition}:acm:{r}:{scope.account}:certificate/*" for r in regions],
        ),
        # `domain status` with dns = "external" prints the record for the distribution:
        # ListDistributions takes no resource, AWS requires "*".
        *([_find_distribution()] if cdn else []),
    ]


def _find_distribution() -> Statement:
    return allow("FindDistributionAnyResourceAwsRequires", ["cloudfront:ListDistributions"], ANY)
