"""The production-edge stack of the sandbox integration run: a Rails app with [domain] in a
Route 53 zone created in its own emulator, [autoscaling] and [alarms].

`tests/integration/test_profiles_sandbox.py` brings it up and destroys it beside the
profile stacks, all at once (each apply is mostly the provider's own waiting); the checks
here run between the two, through boto3 and the hakobu commands a user would run.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from hakobu.sandbox import emulator as sandbox
from tests.conftest import make_rails_app, run_hakobu

APP = "edge-app"
NAME, ZONE = "app.example.com", "example.com"
EMAIL = "ops@example.com"
SECTIONS = f"""
[domain]
name = "{NAME}"
zone = "{ZONE}"

[autoscaling]
min = 1
max = 3

[alarms]
email = ["{EMAIL}"]
"""
REGION = "ap-northeast-1"


def edge_app(root: Path) -> Path:
    """The app, its emulator started, and the user's hosted zone in it (hakobu only reads it)."""
    make_rails_app(root, app=APP)
    with (root / "hakobu.toml").open("a", encoding="utf-8") as config:
        config.write(SECTIONS)
    sandbox.start(root)
    client(root, "route53").create_hosted_zone(Name=ZONE, CallerReference="edge-app-test")
    return root


def client(root: Path, service: str) -> Any:
    server = sandbox.running(root)
    assert server is not None, "the edge app's emulator is not running"
    return sandbox.client(server, REGION, service)


def zone_id(root: Path) -> str:
    zones = client(root, "route53").list_hosted_zones_by_name(DNSName=ZONE)["HostedZones"]
    found = [z["Id"] for z in zones if z["Name"] == f"{ZONE}."]
    assert len(found) == 1, zones
    return str(found[0])


def records(root: Path) -> list[dict[str, Any]]:
    answer = client(root, "route53").list_resource_record_sets(HostedZoneId=zone_id(root))
    return list(answer["ResourceRecordSets"])


def check_edge_stack(root: Path) -> None:
    """Everything [domain], [autoscaling] and [alarms] promise, as AWS reports it."""
    certificate = _check_https(root)
    _check_records(root, certificate)
    _check_scaling(root)
    _check_alarms(root)
    _check_commands(root)
    _check_second_plan_is_empty(root)


def check_edge_gone(root: Path) -> None:
    """After `destroy`: hakobu's parts are gone, the user's zone stays with its own records."""
    assert not client(root, "acm").list_certificates()["CertificateSummaryList"]
    assert not _own_alarms(root)
    assert not client(root, "cloudwatch").list_dashboards()["DashboardEntries"]
    scaling = client(root, "application-autoscaling")
    assert not scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert not client(root, "sns").list_topics()["Topics"]
    assert sorted(r["Type"] for r in records(root)) == ["NS", "SOA"]


def _check_https(root: Path) -> dict[str, Any]:
    acm = client(root, "acm")
    summaries = acm.list_certificates()["CertificateSummaryList"]
    assert [s["DomainName"] for s in summaries] == [NAME]
    certificate = acm.describe_certificate(CertificateArn=summaries[0]["CertificateArn"])
    described: dict[str, Any] = certificate["Certificate"]
    assert described["Status"] == "ISSUED" and described["Type"] == "AMAZON_ISSUED"
    elbv2 = client(root, "elbv2")
    balancer = elbv2.describe_load_balancers(Names=[f"{APP}-alb"])["LoadBalancers"][0]
    listeners = {
        listener["Port"]: listener
        for listener in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])[
            "Listeners"
        ]
    }
    assert sorted(listeners) == [80, 443]
    https = listeners[443]
    assert https["Protocol"] == "HTTPS"
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert [c["CertificateArn"] for c in https["Certificates"]] == [described["CertificateArn"]]
    assert https["DefaultActions"][0]["Type"] == "forward"
    redirect = listeners[80]["DefaultActions"][0]
    assert redirect["Type"] == "redirect"
    assert redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    assert redirect["RedirectConfig"]["Port"] == "443"
    assert redirect["RedirectConfig"]["StatusCode"] == "HTTP_301"
    described["LoadBalancerDNS"] = balancer["DNSName"]
    return described


def _check_records(root: Path, certificate: dict[str, Any]) -> None:
    found = {(r["Name"], r["Type"]): r for r in records(root)}
    alias = found[(f"{NAME}.", "A")]["AliasTarget"]
    assert alias["DNSName"].rstrip(".").lower() == certificate["LoadBalancerDNS"].lower()
    validation = certificate["DomainValidationOptions"][0]["ResourceRecord"]
    cname = found[(validation["Name"], "CNAME")]
    assert [r["Value"] for r in cname["ResourceRecords"]] == [validation["Value"]]


def _check_scaling(root: Path) -> None:
    scaling = client(root, "application-autoscaling")
    targets = scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert [(t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [
        (f"service/{APP}-cluster/{APP}-service", 1, 3)
    ]
    policies = scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    assert [p["PolicyName"] for p in policies] == [f"{APP}-cpu"]
    tracking = policies[0]["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 60
    metric = tracking["PredefinedMetricSpecification"]["PredefinedMetricType"]
    assert metric == "ECSServiceAverageCPUUtilization"


def _check_alarms(root: Path) -> None:
    topic = [
        t["TopicArn"]
        for t in client(root, "sns").list_topics()["Topics"]
        if t["TopicArn"].endswith(f":{APP}-alarms")
    ]
    assert len(topic) == 1
    subscriptions = client(root, "sns").list_subscriptions_by_topic(TopicArn=topic[0])
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions["Subscriptions"]] == [
        ("email", EMAIL)
    ]
    alarms = _own_alarms(root)  # target tracking makes its own (TargetTracking-...) too
    assert len(alarms) == 10
    assert all(a["AlarmActions"] == topic and a["OKActions"] == topic for a in alarms)
    dashboards = client(root, "cloudwatch").list_dashboards()["DashboardEntries"]
    assert [d["DashboardName"] for d in dashboards] == [APP]
    ecs = client(root, "ecs")
    service = ecs.describe_services(cluster=f"{APP}-cluster", services=[f"{APP}-service"])
    deployment_alarms = service["services"][0]["deploymentConfiguration"]["alarms"]
    assert sorted(deployment_alarms["alarmNames"]) == [f"{APP}-alb-5xx", f"{APP}-app-5xx"]
    assert (deployment_alarms["enable"], deployment_alarms["rollback"]) == (True, True)


def _own_alarms(root: Path) -> list[dict[str, Any]]:
    alarms = client(root, "cloudwatch").describe_alarms()["MetricAlarms"]
    return [a for a in alarms if a["AlarmName"].startswith(f"{APP}-")]


def _check_commands(root: Path) -> None:
    """What a user runs: domain status, scale within and outside the range, alarms, doctor."""
    domain = _json(root, "domain", "status")["domain"]
    assert domain["issued"] is True and domain["url"] == f"https://{NAME}"
    refused = run_hakobu("scale", "7", "--sandbox", cwd=root)
    assert refused.code == 2 and "outside the auto scaling range 1-3" in refused.stderr
    assert run_hakobu("scale", "2", "--sandbox", cwd=root).code == 0
    status = _json(root, "status")
    assert (status["autoscaling"]["min"], status["autoscaling"]["max"]) == (1, 3)
    assert status["service"]["desired_count"] == 2
    reason = "Threshold Crossed: 3 of 3 datapoints were greater than the threshold (5.0)"
    client(root, "cloudwatch").set_alarm_state(
        AlarmName=f"{APP}-app-5xx", StateValue="ALARM", StateReason=reason
    )
    listed = {a["name"]: a for a in _json(root, "alarms")["alarms"]["alarms"]}
    assert (listed[f"{APP}-app-5xx"]["state"], listed[f"{APP}-app-5xx"]["reason"]) == (
        "ALARM",
        reason,
    )
    checks = {c["name"]: c for c in _json(root, "doctor", code=None)["checks"]}
    assert checks["alarms"]["status"] == "warning"
    assert f"{APP}-app-5xx" in checks["alarms"]["message"]
    assert checks["alarm subscriptions"]["status"] == "ok"  # moto confirms e-mail at once


def _json(root: Path, *args: str, code: int | None = 0) -> dict[str, Any]:
    result = run_hakobu(*args, "--sandbox", "--json", cwd=root)
    assert code is None or result.code == code, result.output
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def _check_second_plan_is_empty(root: Path) -> None:
    planned = run_hakobu("plan", "--sandbox", cwd=root, timeout=300)
    assert planned.code == 0, planned.output
    workdir = root / ".hakobu" / "sandbox" / "production"
    shown = subprocess.run(
        ["terraform", "show", "-json", "tfplan"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TF_CLI_CONFIG_FILE": str(workdir / "terraform.rc")},
    )
    (workdir / "tfplan").unlink()  # never left for a later `hakobu up` to apply
    changes = {
        c["address"]: c["change"]["actions"]
        for c in json.loads(shown.stdout)["resource_changes"]
        if c["change"]["actions"] != ["no-op"]
    }
    # `hakobu scale 2` is not drift: auto scaling owns the count.
    assert changes == {}, changes
