"""What an environment's optional parts add to the provision policy, by group.

Each statement follows the resource types the part renders (`blueprint.*`) and the calls the
AWS provider makes for each: [domain] (ACM certificates, Route 53 records in the user's
zone, a dual-stack network and load balancer), `cdn` (the CloudFront distribution, its
us-east-1 certificate, the origin-facing prefix list), `waf` (the web ACL and, without a
CDN, its association with the load balancer), [alarms] (SNS topic and subscriptions,
CloudWatch alarms, the dashboard), [autoscaling] (Application Auto Scaling target and
policy, its service-linked role and the alarms target tracking makes), an Aurora cluster's
numbered instances, and `state = "s3"` (the state bucket and its lock file). Without the
part, none of its statements is in the policy.
"""

from __future__ import annotations

from hakobu.core.config import Environment
from hakobu.core.config.edge import DomainSettings
from hakobu.core.engines import engine
from hakobu.provision.blueprint.alarms import dashboard_name, topic_name
from hakobu.provision.blueprint.domain import origin_name
from hakobu.provision.iam_policies import (
    ANY,
    MANAGED_BY_HAKOBU,
    TAGGED_HAKOBU_ON_CREATE,
    Arns,
    Group,
    Statement,
    allow,
)
from hakobu.provision.state import default_state_bucket, state_key

US_EAST_1 = "us-east-1"  # CloudFront's certificate and web ACL live there
AUTOSCALING_ECS = "ecs.application-autoscaling.amazonaws.com"
ECS_NAMESPACE = {"StringEquals": {"application-autoscaling:service-namespace": "ecs"}}


def provision_part_statements(env: Environment, arns: Arns) -> dict[Group, list[Statement]]:
    settings = env.settings
    parts: dict[Group, list[Statement]] = {}

    def add(group: Group, statements: list[Statement]) -> None:
        parts.setdefault(group, []).extend(statements)

    domain = settings.domain
    if domain is not None and domain.name:
        add("network", _dual_stack_network(arns))
        add("edge", _domain(arns, domain))
        if domain.cdn:
            add("network", _origin_facing_prefix_list(arns))
            add("edge", _distribution(arns))
        if domain.waf:
            add("edge", _web_acl(arns, cdn=bool(domain.cdn)))
    if settings.alarms is not None:
        add("monitoring", _alarms(env, arns))
    if settings.autoscaling is not None:
        add("compute", _autoscaling(arns))
        add("iam", [_autoscaling_role(arns)])
    if engine(settings.database.engine).aurora:
        add("data", _aurora_instances(arns))
    if settings.state == "s3":
        add("data", _state_bucket(env, arns))
    return parts


# --- [domain] ------------------------------------------------------------------------------


def _dual_stack_network(arns: Arns) -> list[Statement]:
    # With a domain the VPC, its public subnets and the ALB are dual-stack: a stack that
    # gains a domain associates an IPv6 block with what it already has.
    return [
        allow(
            "DualStackHakobuNetwork",
            [
                "ec2:AssociateSubnetCidrBlock",
                "ec2:AssociateVpcCidrBlock",
                "ec2:DisassociateSubnetCidrBlock",
                "ec2:DisassociateVpcCidrBlock",
            ],
            arns.arn("ec2", "*"),
            MANAGED_BY_HAKOBU,
        )
    ]


def _certificates(arns: Arns, regions: list[str]) -> list[str]:
    scope = arns.scope
    return [f"arn:{scope.partition}:acm:{r}:{scope.account}:certificate/*" for r in regions]


def _domain(arns: Arns, domain: DomainSettings) -> list[Statement]:
    assert domain.name is not None
    regions = [arns.scope.region] + ([US_EAST_1] if domain.cdn else [])
    certificates = _certificates(arns, regions)
    names = [domain.name, *([origin_name(domain)] if domain.cdn else [])]
    statements = [
        # RequestCertificate has no resource (the ARN is made by ACM): AWS requires "*".
        # It may ask only for this environment's names, tagged as hakobu's.
        allow(
            "RequestCertificatesAnyResourceAwsRequires",
            ["acm:RequestCertificate"],
            ANY,
            {
                **TAGGED_HAKOBU_ON_CREATE,
                "ForAllValues:StringEquals": {"acm:DomainNames": names},
            },
        ),
        allow(
            "TagNewCertificates",
            ["acm:AddTagsToCertificate"],
            certificates,
            TAGGED_HAKOBU_ON_CREATE,
        ),
        allow(
            "HakobuCertificates",
            ["acm:DeleteCertificate", "acm:RemoveTagsFromCertificate"],
            certificates,
            MANAGED_BY_HAKOBU,
        ),
        # aws_acm_certificate_validation waits on DescribeCertificate.
        allow(
            "ReadCertificates",
            ["acm:DescribeCertificate", "acm:ListTagsForCertificate"],
            certificates,
        ),
        allow(
            "DualStackLoadBalancer",
            ["elasticloadbalancing:SetIpAddressType"],
            arns.arn("elasticloadbalancing", f"loadbalancer/app/{arns.names.prefix}-*"),
        ),
    ]
    if not domain.external:
        statements += _records(arns, domain.name)
    return statements


def _records(arns: Arns, name: str) -> list[Statement]:
    """The user's zone is read, never created or deleted; only the domain's own records
    (the name, origin.NAME, ACM's _HASH.NAME validation CNAMEs) are written."""
    partition = arns.scope.partition
    zones = f"arn:{partition}:route53:::hostedzone/*"  # the zone id is the user's
    return [
        # The zone is found by name (data.aws_route53_zone): ListHostedZones takes no
        # resource, AWS requires "*".
        allow("FindHostedZoneAnyResourceAwsRequires", ["route53:ListHostedZones"], ANY),
        allow(
            "ReadHostedZone",
            [
                "route53:GetHostedZone",
                "route53:ListResourceRecordSets",
                "route53:ListTagsForResource",
            ],
            zones,
        ),
        allow(
            "DomainRecords",
            ["route53:ChangeResourceRecordSets"],
            zones,
            {
                "ForAllValues:StringLike": {
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames": [
                        name.lower(),
                        f"*.{name.lower()}",
                    ]
                },
                "ForAllValues:StringEquals": {
                    "route53:ChangeResourceRecordSetsRecordTypes": ["A", "AAAA", "CNAME"]
                },
            },
        ),
        allow("WaitForRecordChanges", ["route53:GetChange"], f"arn:{partition}:route53:::change/*"),
    ]


# --- cdn and waf ---------------------------------------------------------------------------


def _origin_facing_prefix_list(arns: Arns) -> list[Statement]:
    scope = arns.scope
    return [
        # data.aws_ec2_managed_prefix_list finds CloudFront's list by name:
        # DescribeManagedPrefixLists takes no resource, AWS requires "*".
        allow(
            "FindOriginFacingPrefixListAnyResourceAwsRequires",
            ["ec2:DescribeManagedPrefixLists"],
            ANY,
        ),
        # The list is AWS's own: its ARN's account is "aws", which IAM matches with "*".
        allow(
            "ReadOriginFacingPrefixList",
            ["ec2:GetManagedPrefixListEntries"],
            f"arn:{scope.partition}:ec2:{scope.region}:*:prefix-list/*",
        ),
    ]


def _distribution(arns: Arns) -> list[Statement]:
    # A distribution's id is made by CloudFront, and CreateDistribution takes no tag
    # condition: the account's distributions. The provider's CreateDistributionWithTags is
    # authorized as CreateDistribution plus TagResource. The cache policies are AWS's
    # managed ones, named by id in the blueprint (blueprint.cdn): nothing reads them.
    distributions = f"arn:{arns.scope.partition}:cloudfront::{arns.scope.account}:distribution/*"
    return [
        allow(
            "Distribution",
            [
                "cloudfront:CreateDistribution",
                "cloudfront:DeleteDistribution",
                "cloudfront:GetDistribution",
                "cloudfront:GetDistributionConfig",
                "cloudfront:ListTagsForResource",
                "cloudfront:UntagResource",
                "cloudfront:UpdateDistribution",
            ],
            distributions,
        ),
        allow(
            "TagDistribution", ["cloudfront:TagResource"], distributions, TAGGED_HAKOBU_ON_CREATE
        ),
    ]


def _web_acl(arns: Arns, cdn: bool) -> list[Statement]:
    """The web ACL: global (in us-east-1) for CloudFront, else regional and associated with
    the load balancer (which needs SetWebAcl too)."""
    scope = arns.scope
    region, kind = (US_EAST_1, "global") if cdn else (scope.region, "regional")
    prefix = arns.names.prefix
    acl = f"arn:{scope.partition}:wafv2:{region}:{scope.account}:{kind}/webacl/{prefix}-waf/*"
    statements = [
        allow(
            "WebAcl",
            [
                "wafv2:CreateWebACL",
                "wafv2:DeleteWebACL",
                "wafv2:GetWebACL",
                "wafv2:ListTagsForResource",
                "wafv2:TagResource",
                "wafv2:UntagResource",
                "wafv2:UpdateWebACL",
            ],
            acl,
        )
    ]
    if cdn:
        return statements
    load_balancer = arns.arn("elasticloadbalancing", f"loadbalancer/app/{prefix}-*")
    return [
        *statements,
        allow(
            "AssociateWebAclWithLoadBalancer",
            ["wafv2:AssociateWebACL", "wafv2:DisassociateWebACL", "wafv2:GetWebACLForResource"],
            [acl, load_balancer],
        ),
        # SetWebAcl, which an association implies, has no resource: AWS requires "*".
        allow("SetWebAclAnyResourceAwsRequires", ["elasticloadbalancing:SetWebAcl"], ANY),
    ]


# --- [alarms] ------------------------------------------------------------------------------


def _alarms(env: Environment, arns: Arns) -> list[Statement]:
    scope = arns.scope
    topic = arns.arn("sns", topic_name(env))
    # Dashboards are global: their ARN has no region.
    dashboard = f"arn:{scope.partition}:cloudwatch::{scope.account}:dashboard/"
    dashboard += dashboard_name(env)
    return [
        allow(
            "AlarmTopic",
            [
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:GetTopicAttributes",
                "sns:ListSubscriptionsByTopic",
                "sns:ListTagsForResource",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
                "sns:TagResource",
                "sns:UntagResource",
            ],
            topic,
        ),
        # A subscription's own calls take no resource: AWS requires "*".
        allow(
            "AlarmSubscriptionsAnyResourceAwsRequires",
            [
                "sns:GetSubscriptionAttributes",
                "sns:SetSubscriptionAttributes",
                "sns:Unsubscribe",
            ],
            ANY,
        ),
        allow(
            "Alarms",
            [
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:ListTagsForResource",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            ],
            arns.arn("cloudwatch", f"alarm:{arns.names.prefix}-*"),
        ),
        allow(
            "Dashboard",
            ["cloudwatch:DeleteDashboards", "cloudwatch:GetDashboard", "cloudwatch:PutDashboard"],
            dashboard,
        ),
    ]


# --- [autoscaling] ---------------------------------------------------------------------------


def _autoscaling(arns: Arns) -> list[Statement]:
    names = arns.names
    targets = arns.arn("application-autoscaling", "scalable-target/*")  # ids made by AWS
    return [
        allow(
            "CreateScalableTargetTaggedHakobu",
            ["application-autoscaling:RegisterScalableTarget"],
            targets,
            {
                "StringEquals": {
                    **TAGGED_HAKOBU_ON_CREATE["StringEquals"],
                    **ECS_NAMESPACE["StringEquals"],
                }
            },
        ),
        # The register call tags the new target itself (service-namespace is not a key
        # TagResource knows: a condition on it would never match).
        allow(
            "TagNewScalableTarget",
            ["application-autoscaling:TagResource"],
            targets,
            TAGGED_HAKOBU_ON_CREATE,
        ),
        allow(
            "HakobuScalableTarget",
            [
                "application-autoscaling:DeleteScalingPolicy",
                "application-autoscaling:DeregisterScalableTarget",
                "application-autoscaling:ListTagsForResource",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:TagResource",
                "application-autoscaling:UntagResource",
            ],
            targets,
            MANAGED_BY_HAKOBU,
        ),
        # Describe* take no resource: AWS requires "*".
        allow(
            "ReadAutoScalingAnyResourceAwsRequires",
            [
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:DescribeScalingPolicies",
            ],
            ANY,
        ),
        # A target-tracking policy makes (and removes) its alarms with the caller's rights.
        allow(
            "TargetTrackingAlarms",
            ["cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm"],
            arns.arn("cloudwatch", f"alarm:TargetTracking-service/{names.cluster}/*"),
        ),
    ]


# --- Aurora and the state bucket ---------------------------------------------------------------


def _autoscaling_role(arns: Arns) -> Statement:
    # The account's first ECS scalable target creates Application Auto Scaling's role.
    role = (
        f"arn:{arns.scope.partition}:iam::{arns.scope.account}:role/aws-service-role/"
        f"{AUTOSCALING_ECS}/AWSServiceRoleForApplicationAutoScaling_ECSService"
    )
    return allow(
        "AutoScalingServiceLinkedRole",
        ["iam:CreateServiceLinkedRole"],
        role,
        {"StringEquals": {"iam:AWSServiceName": AUTOSCALING_ECS}},
    )


def _aurora_instances(arns: Arns) -> list[Statement]:
    # The cluster is under `Database` (cluster:PREFIX-*); its instances are numbered.
    cluster = arns.names.db_cluster
    return [
        allow(
            "AuroraInstances",
            [
                "rds:AddTagsToResource",
                "rds:CreateDBInstance",
                "rds:DeleteDBInstance",
                "rds:DescribeDBInstances",
                "rds:ListTagsForResource",
                "rds:ModifyDBInstance",
                "rds:RemoveTagsFromResource",
            ],
            arns.arn("rds", f"db:{cluster}-*"),
        ),
        # The provider reads whether the cluster belongs to a global cluster on every
        # refresh (found by `up --sandbox` under the emulator's IAM enforcement). Global
        # clusters have no region in their ARN.
        allow(
            "AuroraGlobalClusterReads",
            ["rds:DescribeGlobalClusters"],
            arns.arn("rds", "global-cluster:*", region=False),
        ),
    ]


def _state_bucket(env: Environment, arns: Arns) -> list[Statement]:
    """hakobu creates the bucket on first use (provision.state); Terraform's S3 backend
    reads and writes the state object and its lock file (use_lockfile)."""
    bucket = env.settings.state_bucket or default_state_bucket(arns.scope.account, env.region)
    bucket_arn = f"arn:{arns.scope.partition}:s3:::{bucket}"
    state = f"{bucket_arn}/{state_key(env)}"
    return [
        allow(
            "StateBucket",
            [
                "s3:CreateBucket",
                "s3:DeleteBucket",  # only the empty bucket of a failed first set-up
                "s3:ListBucket",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketVersioning",
                "s3:PutEncryptionConfiguration",
            ],
            bucket_arn,
        ),
        allow("StateObject", ["s3:GetObject", "s3:PutObject"], [state, f"{state}.tflock"]),
        allow("StateLockRelease", ["s3:DeleteObject"], f"{state}.tflock"),
    ]
