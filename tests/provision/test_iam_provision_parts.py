"""What the provision policy grants for each rendered resource type, with exact values for
the optional parts: [domain], cdn, waf, [alarms], [autoscaling], Aurora, state = "s3"."""

from __future__ import annotations

from typing import Any

import pytest

from hakobu.provision.blueprint import render
from hakobu.provision.iam_policies import policy
from tests.conftest import environment_of
from tests.provision.test_iam_policies import (
    RAILS,
    SCOPE,
    WITH_EVERYTHING,
    WITH_PROCESSES,
    WITH_WAF_AND_S3_STATE,
)

NETWORK = ["CreateNetworkTaggedHakobu", "ChangeHakobuNetwork"]
# Each resource and data source type Terraform renders, and the statements its calls need.
STATEMENTS_OF_TYPE = {
    "aws_acm_certificate": [
        "RequestCertificatesAnyResourceAwsRequires",
        "TagNewCertificates",
        "HakobuCertificates",
        "ReadCertificates",
    ],
    "aws_acm_certificate_validation": ["ReadCertificates"],
    "aws_appautoscaling_policy": ["HakobuScalableTarget", "TargetTrackingAlarms"],
    "aws_appautoscaling_target": [
        "CreateScalableTargetTaggedHakobu",
        "TagNewScalableTarget",
        "HakobuScalableTarget",
        "ReadAutoScalingAnyResourceAwsRequires",
        "AutoScalingServiceLinkedRole",
    ],
    "aws_cloudfront_distribution": ["Distribution", "TagDistribution"],
    "aws_cloudwatch_dashboard": ["Dashboard"],
    "aws_cloudwatch_log_group": ["LogGroup"],
    "aws_cloudwatch_metric_alarm": ["Alarms"],
    "aws_db_instance": ["Database", "FinalSnapshot", "DefaultParameterAndOptionGroups"],
    "aws_db_subnet_group": ["Database"],
    "aws_default_security_group": ["TagDefaultSecurityGroup", "ChangeHakobuNetwork"],
    "aws_ecr_lifecycle_policy": ["Repository"],
    "aws_ecr_repository": ["Repository"],
    "aws_ecs_cluster": ["ClusterServiceTaskDefinitions"],
    "aws_ecs_cluster_capacity_providers": ["ClusterServiceTaskDefinitions"],
    "aws_ecs_service": ["ClusterServiceTaskDefinitions"],
    "aws_ecs_task_definition": [
        "ClusterServiceTaskDefinitions",
        "TaskDefinitionReadsAnyResourceAwsRequires",
    ],
    "aws_eip": NETWORK,
    "aws_iam_openid_connect_provider": ["GithubOidcProvider"],
    "aws_iam_role": ["TaskAndDeployRoles"],
    "aws_iam_role_policy": ["TaskAndDeployRoles"],
    "aws_iam_role_policy_attachment": ["TaskAndDeployRoles"],
    "aws_internet_gateway": NETWORK,
    "aws_lb": ["LoadBalancerAndTargetGroup", "LoadBalancerReadsAnyResourceAwsRequires"],
    "aws_lb_listener": ["LoadBalancerAndTargetGroup"],
    "aws_lb_target_group": ["LoadBalancerAndTargetGroup"],
    "aws_nat_gateway": NETWORK,
    "aws_rds_cluster": [
        "Database",
        "FinalSnapshot",
        "DefaultParameterAndOptionGroups",
        "AuroraGlobalClusterReads",
    ],
    "aws_rds_cluster_instance": ["AuroraInstances"],
    "aws_route": ["ChangeHakobuNetwork"],
    "aws_route53_record": ["DomainRecords", "ReadHostedZone", "WaitForRecordChanges"],
    "aws_route_table": NETWORK,
    "aws_route_table_association": ["ChangeHakobuNetwork"],
    "aws_s3_bucket": ["StorageBucket", "EmptyStorageBucketOnDeleteData"],
    "aws_s3_bucket_lifecycle_configuration": ["StorageBucket"],
    "aws_s3_bucket_ownership_controls": ["StorageBucket"],
    "aws_s3_bucket_policy": ["StorageBucket"],
    "aws_s3_bucket_public_access_block": ["StorageBucket"],
    "aws_s3_bucket_server_side_encryption_configuration": ["StorageBucket"],
    "aws_s3_bucket_versioning": ["StorageBucket"],
    "aws_scheduler_schedule": ["Schedules", "PassSchedulerRoleToScheduler"],
    "aws_secretsmanager_secret": ["Secrets"],
    "aws_secretsmanager_secret_version": ["Secrets"],
    "aws_security_group": NETWORK,
    "aws_sns_topic": ["AlarmTopic"],
    "aws_sns_topic_subscription": ["AlarmTopic", "AlarmSubscriptionsAnyResourceAwsRequires"],
    "aws_sqs_queue": ["SchedulesDeadLetterQueue"],
    "aws_subnet": NETWORK,
    "aws_vpc": [*NETWORK, "ReadNetworkAttributes"],
    "aws_vpc_security_group_egress_rule": ["CreateSecurityGroupRulesTaggedHakobu"],
    "aws_vpc_security_group_ingress_rule": ["CreateSecurityGroupRulesTaggedHakobu"],
    "aws_wafv2_web_acl": ["WebAcl"],
    "aws_wafv2_web_acl_association": [
        "AssociateWebAclWithLoadBalancer",
        "SetWebAclAnyResourceAwsRequires",
    ],
    "data.aws_arn": [],  # computed by Terraform itself: no AWS call
    "data.aws_ec2_managed_prefix_list": [
        "FindOriginFacingPrefixListAnyResourceAwsRequires",
        "ReadOriginFacingPrefixList",
    ],
    "data.aws_route53_zone": ["FindHostedZoneAnyResourceAwsRequires", "ReadHostedZone"],
}


def _sids(raw: dict) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy(environment_of(raw), "provision", SCOPE)["Statement"]}


@pytest.mark.parametrize(
    "raw",
    [RAILS, WITH_PROCESSES, WITH_WAF_AND_S3_STATE, WITH_EVERYTHING],
    ids=["plain", "with-processes", "with-waf-and-s3-state", "with-everything"],
)
def test_each_rendered_type_has_its_statements(raw: dict) -> None:
    document = render(environment_of(raw))
    rendered = set(document["resource"]) | {f"data.{t}" for t in document.get("data", {})}
    assert rendered <= set(STATEMENTS_OF_TYPE), rendered - set(STATEMENTS_OF_TYPE)
    sids = _sids(raw)
    missing = {t: s for t in rendered for s in STATEMENTS_OF_TYPE[t] if s not in sids}
    assert not missing


def test_domain_records_are_only_the_domain_s_in_the_user_s_zone() -> None:
    sids = _sids(WITH_EVERYTHING)
    assert sids["DomainRecords"] == {
        "Sid": "DomainRecords",
        "Effect": "Allow",
        "Action": ["route53:ChangeResourceRecordSets"],
        "Resource": "arn:aws:route53:::hostedzone/*",
        "Condition": {
            "ForAllValues:StringLike": {
                "route53:ChangeResourceRecordSetsNormalizedRecordNames": [
                    "app.example.com",
                    "*.app.example.com",
                ]
            },
            "ForAllValues:StringEquals": {
                "route53:ChangeResourceRecordSetsRecordTypes": ["A", "AAAA", "CNAME"]
            },
        },
    }
    assert sids["ReadHostedZone"]["Action"] == [
        "route53:GetHostedZone",
        "route53:ListResourceRecordSets",
        "route53:ListTagsForResource",
    ]
    actions = {a for s in sids.values() for a in s["Action"]}
    assert not {"route53:CreateHostedZone", "route53:DeleteHostedZone"} & actions


def test_external_dns_writes_no_record() -> None:
    external = {**RAILS, "domain": {"name": "app.example.com", "dns": "external"}}
    sids = _sids(external)
    assert not {s for s in sids if "Record" in s or "HostedZone" in s}
    assert "ReadCertificates" in sids


def test_certificates_ask_only_for_the_domain_s_names_in_both_regions() -> None:
    sids = _sids(WITH_EVERYTHING)
    assert sids["RequestCertificatesAnyResourceAwsRequires"]["Condition"] == {
        "StringEquals": {"aws:RequestTag/ManagedBy": "hakobu"},
        "ForAllValues:StringEquals": {
            "acm:DomainNames": ["app.example.com", "origin.app.example.com"]
        },
    }
    regions = [
        "arn:aws:acm:ap-northeast-1:123456789012:certificate/*",
        "arn:aws:acm:us-east-1:123456789012:certificate/*",  # CloudFront's
    ]
    assert sids["HakobuCertificates"]["Resource"] == regions
    assert sids["HakobuCertificates"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/ManagedBy": "hakobu"}
    }
    without_cdn = _sids(WITH_WAF_AND_S3_STATE)
    assert without_cdn["ReadCertificates"]["Resource"] == regions[:1]


def test_cdn_distribution_and_its_global_web_acl() -> None:
    sids = _sids(WITH_EVERYTHING)
    assert sids["Distribution"]["Resource"] == "arn:aws:cloudfront::123456789012:distribution/*"
    assert "cloudfront:CreateDistribution" in sids["Distribution"]["Action"]
    assert sids["WebAcl"]["Resource"] == (
        "arn:aws:wafv2:us-east-1:123456789012:global/webacl/rails-app-waf/*"
    )
    assert sids["ReadOriginFacingPrefixList"]["Resource"] == (
        "arn:aws:ec2:ap-northeast-1:*:prefix-list/*"
    )
    assert "AssociateWebAclWithLoadBalancer" not in sids  # the distribution names the ACL


def test_waf_without_cdn_is_regional_and_associated_with_the_load_balancer() -> None:
    sids = _sids(WITH_WAF_AND_S3_STATE)
    acl = "arn:aws:wafv2:ap-northeast-1:123456789012:regional/webacl/rails-app-waf/*"
    assert sids["WebAcl"]["Resource"] == acl
    assert sids["AssociateWebAclWithLoadBalancer"]["Resource"] == [
        acl,
        "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:loadbalancer/app/rails-app-*",
    ]
    assert "Distribution" not in sids


def test_alarms_topic_alarms_and_dashboard() -> None:
    sids = _sids(WITH_EVERYTHING)
    assert (
        sids["AlarmTopic"]["Resource"] == "arn:aws:sns:ap-northeast-1:123456789012:rails-app-alarms"
    )
    assert sids["Alarms"]["Resource"] == (
        "arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:rails-app-*"
    )
    assert sids["Dashboard"]["Resource"] == "arn:aws:cloudwatch::123456789012:dashboard/rails-app"


def test_autoscaling_targets_by_tag_and_its_service_linked_role() -> None:
    sids = _sids(WITH_EVERYTHING)
    assert sids["AutoScalingServiceLinkedRole"] == {
        "Sid": "AutoScalingServiceLinkedRole",
        "Effect": "Allow",
        "Action": ["iam:CreateServiceLinkedRole"],
        "Resource": "arn:aws:iam::123456789012:role/aws-service-role/"
        "ecs.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_ECSService",
        "Condition": {
            "StringEquals": {"iam:AWSServiceName": "ecs.application-autoscaling.amazonaws.com"}
        },
    }
    assert sids["CreateScalableTargetTaggedHakobu"]["Condition"] == {
        "StringEquals": {
            "aws:RequestTag/ManagedBy": "hakobu",
            "application-autoscaling:service-namespace": "ecs",
        }
    }
    assert sids["TargetTrackingAlarms"]["Resource"] == (
        "arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:"
        "TargetTracking-service/rails-app-cluster/*"
    )


def test_aurora_instances_and_final_snapshots() -> None:
    sids = _sids(WITH_EVERYTHING)
    assert sids["AuroraInstances"]["Resource"] == (
        "arn:aws:rds:ap-northeast-1:123456789012:db:rails-app-db-*"
    )
    assert sids["AuroraGlobalClusterReads"]["Resource"] == (
        "arn:aws:rds::123456789012:global-cluster:*"
    )
    assert sids["FinalSnapshot"]["Resource"][2:] == [
        "arn:aws:rds:ap-northeast-1:123456789012:snapshot:rails-app-db-final",
        "arn:aws:rds:ap-northeast-1:123456789012:cluster-snapshot:rails-app-db-final",
    ]
    assert "AuroraInstances" not in _sids(RAILS)


def test_s3_state_bucket_and_its_lock_file() -> None:
    sids = _sids(WITH_WAF_AND_S3_STATE)
    bucket = "arn:aws:s3:::hakobu-state-123456789012-ap-northeast-1"
    state = f"{bucket}/hakobu/rails-app/production/terraform.tfstate"
    assert sids["StateBucket"]["Resource"] == bucket
    assert sids["StateObject"]["Resource"] == [state, f"{state}.tflock"]
    assert sids["StateLockRelease"] == {
        "Sid": "StateLockRelease",
        "Effect": "Allow",
        "Action": ["s3:DeleteObject"],
        "Resource": f"{state}.tflock",
    }
    named = _sids({**WITH_WAF_AND_S3_STATE, "state_bucket": "my-state"})
    assert named["StateBucket"]["Resource"] == "arn:aws:s3:::my-state"
    assert "StateBucket" not in _sids(RAILS)


def test_the_default_security_group_is_tagged_only_if_no_tool_manages_it() -> None:
    assert _sids(RAILS)["TagDefaultSecurityGroup"]["Condition"] == {
        "StringEquals": {"aws:RequestTag/ManagedBy": "hakobu"},
        "Null": {"aws:ResourceTag/ManagedBy": "true"},
    }
