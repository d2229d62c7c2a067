"""The calls moto lacks, answered by `hakobu.sandbox.moto_gaps`: boto3 over HTTP against an
in-process moto server with the answers installed, as the Terraform provider calls them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from hakobu.sandbox import moto_gaps
from tests.support.moto_server import Aws, moto_server

REGION = "ap-northeast-1"
RESOURCE = "service/web-cluster/web-service"
DIMENSION = "ecs:service:DesiredCount"


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with moto_server(moto_gaps) as server:
        yield server


@pytest.fixture
def service(aws: Aws) -> Iterator[Any]:
    """An ECS service with 1 task wanted, as hakobu's blueprint creates it."""
    ecs = aws.client("ecs")
    ecs.create_cluster(clusterName="web-cluster")
    ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "web", "image": "x", "memory": 512}]
    )
    ecs.create_service(
        cluster="web-cluster",
        serviceName="web-service",
        taskDefinition="web",
        desiredCount=1,
        availabilityZoneRebalancing="DISABLED",
        enableExecuteCommand=True,
        healthCheckGracePeriodSeconds=60,
        deploymentConfiguration={
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "alarms": {"alarmNames": ["web-5xx"], "enable": True, "rollback": True},
        },
    )
    yield ecs
    ecs.delete_service(cluster="web-cluster", service="web-service", force=True)
    ecs.delete_cluster(cluster="web-cluster")


def _register(aws: Aws, low: int, high: int, **extra: Any) -> str:
    arn: str = aws.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=RESOURCE,
        ScalableDimension=DIMENSION,
        MinCapacity=low,
        MaxCapacity=high,
        **extra,
    )["ScalableTargetARN"]
    return arn


def test_scalable_target_tags_round_trip(aws: Aws, service: Any) -> None:
    scaling = aws.client("application-autoscaling")
    arn = _register(aws, 1, 4, Tags={"App": "web", "ManagedBy": "hakobu"})
    assert scaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {
        "App": "web",
        "ManagedBy": "hakobu",
    }
    scaling.tag_resource(ResourceARN=arn, Tags={"Team": "ops"})
    scaling.untag_resource(ResourceARN=arn, TagKeys=["App"])
    assert scaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {
        "ManagedBy": "hakobu",
        "Team": "ops",
    }
    scaling.deregister_scalable_target(
        ServiceNamespace="ecs", ResourceId=RESOURCE, ScalableDimension=DIMENSION
    )
    with pytest.raises(ClientError) as raised:
        scaling.list_tags_for_resource(ResourceARN=arn)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_new_minimum_moves_the_service_and_is_an_activity(aws: Aws, service: Any) -> None:
    scaling = aws.client("application-autoscaling")
    _register(aws, 2, 4)
    described = service.describe_services(cluster="web-cluster", services=["web-service"])
    assert described["services"][0]["desiredCount"] == 2
    activities = scaling.describe_scaling_activities(
        ServiceNamespace="ecs", ResourceId=RESOURCE, ScalableDimension=DIMENSION
    )["ScalingActivities"]
    assert [a["Description"] for a in activities] == ["Setting desired count to 2."]
    assert activities[0]["Cause"] == "minimum capacity was set to 2"
    assert activities[0]["StatusCode"] == "Successful"
    # Inside the range nothing moves and nothing new is recorded.
    _register(aws, 1, 4)
    again = scaling.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=RESOURCE)
    assert len(again["ScalingActivities"]) == 1
    scaling.deregister_scalable_target(
        ServiceNamespace="ecs", ResourceId=RESOURCE, ScalableDimension=DIMENSION
    )


def test_create_service_keeps_what_the_provider_sent(aws: Aws, service: Any) -> None:
    described = service.describe_services(cluster="web-cluster", services=["web-service"])
    got = described["services"][0]
    assert got["availabilityZoneRebalancing"] == "DISABLED"
    assert got["enableExecuteCommand"] is True
    assert got["healthCheckGracePeriodSeconds"] == 60
    config = got["deploymentConfiguration"]
    assert config["alarms"] == {"alarmNames": ["web-5xx"], "enable": True, "rollback": True}
    assert config["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}


def test_install_twice_patches_once(aws: Aws) -> None:
    from moto.ecs.responses import EC2ContainerServiceResponse

    moto_gaps.install()
    first = EC2ContainerServiceResponse.create_service
    moto_gaps.install()
    assert EC2ContainerServiceResponse.create_service is first


def test_a_rule_naming_a_group_keeps_its_description(aws: Aws) -> None:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    alb, tasks = (
        ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
        for name in ("alb", "tasks")
    )
    ec2.authorize_security_group_ingress(
        GroupId=tasks,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 3000,
                "ToPort": 3000,
                "UserIdGroupPairs": [{"GroupId": alb, "Description": "App port from the ALB"}],
            }
        ],
    )
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [tasks]}])
    ingress = [r for r in rules["SecurityGroupRules"] if not r["IsEgress"]]
    assert [(r["ReferencedGroupInfo"]["GroupId"], r["Description"]) for r in ingress] == [
        (alb, "App port from the ALB")
    ]


def test_a_rule_from_a_prefix_list_keeps_its_description(aws: Aws) -> None:
    """The ALB's 443 from CloudFront's origin-facing prefix list ([domain] cdn = true)."""
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    alb = ec2.create_security_group(GroupName="alb-cdn", Description="alb", VpcId=vpc)["GroupId"]
    prefix_list = ec2.describe_managed_prefix_lists(
        Filters=[{"Name": "prefix-list-name",
                  "Values": ["com.amazonaws.global.cloudfront.origin-facing"]}]
    )["PrefixLists"][0]["PrefixListId"]  # fmt: skip
    ec2.authorize_security_group_ingress(
        GroupId=alb,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "PrefixListIds": [{"PrefixListId": prefix_list, "Description": "From CloudFront"}],
            }
        ],
    )
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [alb]}])
    ingress = [r for r in rules["SecurityGroupRules"] if not r["IsEgress"]]
    assert [(r["PrefixListId"], r["Description"]) for r in ingress] == [
        (prefix_list, "From CloudFront")
    ]


def _policy(*statements: dict[str, Any]) -> str:
    import json

    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_a_tls_only_bucket_takes_uploads_through_the_sandbox(aws: Aws) -> None:
    """The storage bucket's policy denies requests without TLS; the sandbox's endpoint
    stands in for S3's HTTPS one, so the app's object calls pass as they do on AWS, while a
    statement that denies outright still denies."""
    s3 = aws.client("s3")
    bucket = "uploads-tls-only"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    arn = f"arn:aws:s3:::{bucket}"
    tls_only = {
        "Sid": "DenyPlainHttp",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(tls_only))
    s3.put_object(Bucket=bucket, Key="avatar.png", Body=b"png")
    assert s3.get_object(Bucket=bucket, Key="avatar.png")["Body"].read() == b"png"

    no_reads = {**tls_only, "Sid": "NoReads", "Action": "s3:GetObject"}
    del no_reads["Condition"]
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(tls_only, no_reads))
    with pytest.raises(ClientError, match=r"403|AccessDenied|Forbidden"):
        s3.get_object(Bucket=bucket, Key="avatar.png")
