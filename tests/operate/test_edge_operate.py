"""What `domain status`, `doctor` and `status` read about the production edge, where the
emulator cannot show it. botocore Stubber, each test says why:

- with `dns = "external"` no zone of the emulator holds the name, so the sandbox marks the
  certificate ISSUED after 60 s (`hakobu.sandbox.edge_gaps`): a certificate kept
  PENDING_VALIDATION while the records to add are listed (with the CloudFront distribution's
  name among them) is stubbed; in a zone, the applied CDN is read back in
  tests/integration/edge_stack.py;
- moto confirms e-mail subscriptions at once (AWS waits for the click);
- moto's Application Auto Scaling never scales on a metric, so it records no activity
  with a CloudWatch cause.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hakobu.cli.edge_commands import alarms_screen, domain_screen, scaling_screen
from hakobu.operate.alarms import alarms_report
from hakobu.operate.autoscaling import scaling_view
from hakobu.operate.doctor.edge import check_subscriptions
from hakobu.operate.doctor.facts import Facts
from hakobu.operate.domain import domain_status
from tests.conftest import environment_of
from tests.support.stubbed_aws import StubbedAws

CERT = "arn:aws:acm:{region}:123456789012:certificate/0d1e2f"
TOPIC = "arn:aws:sns:ap-northeast-1:123456789012:shop-alarms"
VALIDATION = {
    "Name": "_3f2a.app.example.com.",
    "Type": "CNAME",
    "Value": "_9c1d.acm-validations.aws.",
}


def _certificate(aws: StubbedAws, region: str, status: str) -> None:
    acm = aws.stub("acm")
    arn = CERT.format(region=region)
    acm.add_response(
        "list_certificates",
        {"CertificateSummaryList": [{"CertificateArn": arn, "DomainName": "app.example.com"}]},
    )
    acm.add_response(
        "describe_certificate",
        {
            "Certificate": {
                "CertificateArn": arn,
                "DomainName": "app.example.com",
                "Status": status,
                "DomainValidationOptions": [
                    {
                        "DomainName": "app.example.com",
                        "ValidationStatus": status,
                        "ResourceRecord": VALIDATION,
                    }
                ],
            }
        },
        {"CertificateArn": arn},
    )


def test_external_dns_lists_the_records_to_add_while_pending() -> None:
    env = environment_of(
        {"app": "shop", "domain": {"name": "app.example.com", "dns": "external", "cdn": True}}
    )
    aws, east = StubbedAws(), StubbedAws()
    _certificate(aws, "ap-northeast-1", "ISSUED")
    _certificate(east, "us-east-1", "PENDING_VALIDATION")
    aws.stub("elbv2").add_response(
        "describe_load_balancers",
        {"LoadBalancers": [{"DNSName": "shop-alb-1.ap-northeast-1.elb.amazonaws.com"}]},
        {"Names": ["shop-alb"]},
    )
    east.stub("cloudfront").add_response(
        "list_distributions",
        {"DistributionList": {"Marker": "", "MaxItems": 100, "IsTruncated": False,
                              "Quantity": 1, "Items": [_distribution()]}},
    )  # fmt: skip
    status = domain_status(env, aws, east)
    aws.verify()
    east.verify()
    assert not status.issued
    assert [(c.used_by, c.status) for c in status.certificates] == [
        ("load balancer", "ISSUED"),
        ("CloudFront (us-east-1)", "PENDING_VALIDATION"),
    ]
    assert [(r["name"], r["type"], r["value"]) for r in status.records] == [
        ("_3f2a.app.example.com.", "CNAME", "_9c1d.acm-validations.aws."),
        ("origin.app.example.com.", "CNAME", "shop-alb-1.ap-northeast-1.elb.amazonaws.com"),
        ("app.example.com.", "CNAME", "d111abcdef8.cloudfront.net"),
    ]
    text = "\n".join(str(part) for part in domain_screen(status))
    assert "PENDING_VALIDATION" in text and "Add these records at your DNS provider" in text


def _distribution() -> dict[str, Any]:
    origin = {"Id": "load-balancer", "DomainName": "origin.app.example.com"}
    behavior = {"TargetOriginId": "load-balancer", "ViewerProtocolPolicy": "redirect-to-https"}
    return {
        "Id": "E2QWRUHEXAMPLE", "ARN": "arn:aws:cloudfront::123456789012:distribution/E2Q",
        "Status": "Deployed", "LastModifiedTime": datetime(2026, 12, 1, tzinfo=UTC),
        "DomainName": "d111abcdef8.cloudfront.net",
        "Aliases": {"Quantity": 1, "Items": ["app.example.com"]},
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": behavior, "CacheBehaviors": {"Quantity": 0},
        "CustomErrorResponses": {"Quantity": 0}, "Comment": "", "PriceClass": "PriceClass_200",
        "Enabled": True, "ViewerCertificate": {},
        "Restrictions": {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}},
        "WebACLId": "", "HttpVersion": "http2and3", "IsIPV6Enabled": True, "Staging": False,
    }  # fmt: skip


def test_doctor_warns_about_an_unconfirmed_subscription() -> None:
    env = environment_of({"app": "shop", "alarms": {"email": ["ops@example.com"]}})
    aws = StubbedAws()
    _alarms_answer(aws, state="OK")
    sns = aws.stub("sns")
    sns.add_response("list_topics", {"Topics": [{"TopicArn": TOPIC}]})
    sns.add_response(
        "list_subscriptions_by_topic",
        {"Subscriptions": [{"SubscriptionArn": "PendingConfirmation", "Protocol": "email",
                            "Endpoint": "ops@example.com", "TopicArn": TOPIC}]},
        {"TopicArn": TOPIC},
    )  # fmt: skip
    finding = check_subscriptions(Facts(env=env, aws=aws))
    assert finding.status == "warning"
    assert finding.message == "not confirmed yet, so not told: ops@example.com"
    assert "Subscription Confirmation" in (finding.fix or "")


def _alarms_answer(aws: StubbedAws, state: str) -> None:
    aws.stub("cloudwatch").add_response(
        "describe_alarms",
        {"MetricAlarms": [{"AlarmName": "shop-app-5xx", "StateValue": state,
                           "StateReason": "Threshold Crossed", "StateUpdatedTimestamp":
                           datetime(2026, 12, 2, 10, 0, tzinfo=UTC)}]},
    )  # fmt: skip


def test_alarms_screen_shows_a_missing_alarm_and_who_is_told() -> None:
    env = environment_of({"app": "shop", "alarms": {"email": ["ops@example.com"]}})
    aws = StubbedAws()
    _alarms_answer(aws, state="ALARM")
    sns = aws.stub("sns")
    sns.add_response("list_topics", {"Topics": [{"TopicArn": TOPIC}]})
    sns.add_response("list_subscriptions_by_topic", {"Subscriptions": []}, {"TopicArn": TOPIC})
    report = alarms_report(env, aws)
    assert report is not None
    states = {a.name: a.state for a in report.alarms}
    assert states["shop-app-5xx"] == "ALARM" and states["shop-alb-5xx"] == "MISSING"
    assert [a.name for a in report.firing] == ["shop-app-5xx"]
    assert any("Nobody is told" in str(part) for part in alarms_screen(report))


def test_status_shows_scaling_activities_newest_first() -> None:
    env = environment_of({"app": "shop", "autoscaling": {"min": 1, "max": 4}})
    aws = StubbedAws()
    scaling = aws.stub("application-autoscaling")
    scaling.add_response(
        "describe_scalable_targets",
        {"ScalableTargets": [{"ServiceNamespace": "ecs", "ResourceId":
                              "service/shop-cluster/shop-service", "ScalableDimension":
                              "ecs:service:DesiredCount", "MinCapacity": 1, "MaxCapacity": 4,
                              "RoleARN": "arn:aws:iam::123456789012:role/x",
                              "CreationTime": datetime(2026, 12, 1, tzinfo=UTC)}]},
    )  # fmt: skip
    cause = "monitor alarm TargetTracking-service/shop-cluster/shop-service-AlarmHigh in ALARM"
    scaling.add_response(
        "describe_scaling_activities",
        {"ScalingActivities": [
            _activity("a1", 10, "Setting desired count to 2.", cause),
            _activity("a2", 30, "Setting desired count to 3.", cause),
        ]},
    )  # fmt: skip
    view = scaling_view(env, aws)
    assert view is not None and (view.minimum, view.maximum) == (1, 4)
    assert [a.description for a in view.activities] == [
        "Setting desired count to 3.",
        "Setting desired count to 2.",
    ]
    lines = [str(line) for line in scaling_screen(view)]
    assert lines[0] == "Auto scaling: 1 to 4 tasks, target tracking"
    assert lines[1].startswith("  2026-12-02T10:30:00+00:00  Setting desired count to 3.")


def _activity(ident: str, minute: int, description: str, cause: str) -> dict[str, Any]:
    started = datetime(2026, 12, 2, 10, minute, tzinfo=UTC)
    return {
        "ActivityId": ident, "ServiceNamespace": "ecs",
        "ResourceId": "service/shop-cluster/shop-service",
        "ScalableDimension": "ecs:service:DesiredCount", "Description": description,
        "Cause": cause, "StartTime": started, "EndTime": started, "StatusCode": "Successful",
    }  # fmt: skip
