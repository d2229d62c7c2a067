"""The production edge parts as rendered: domain + HTTPS, CDN, auto scaling, alarms, WAF.

Exact values, from hakobu.toml sections to the Terraform JSON a user would eject.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from hakobu.provision.blueprint import render
from hakobu.provision.blueprint.cdn import CACHING_DISABLED, CACHING_OPTIMIZED
from hakobu.provision.blueprint.https import TLS_POLICY
from tests.conftest import environment_of

DOMAIN = {"name": "app.example.com", "zone": "example.com"}
EDGE_TYPES = {
    "aws_acm_certificate",
    "aws_acm_certificate_validation",
    "aws_route53_record",
    "aws_cloudfront_distribution",
    "aws_appautoscaling_target",
    "aws_appautoscaling_policy",
    "aws_sns_topic",
    "aws_sns_topic_subscription",
    "aws_cloudwatch_metric_alarm",
    "aws_cloudwatch_dashboard",
    "aws_wafv2_web_acl",
    "aws_wafv2_web_acl_association",
}


def doc(paused: bool = False, **sections: Any) -> dict[str, Any]:
    framework = sections.pop("framework", "rails")
    env = environment_of({"app": "shop", "framework": framework, **sections})
    return render(env, paused=paused)


def resources(document: dict[str, Any], kind: str) -> dict[str, Any]:
    named: dict[str, Any] = document["resource"].get(kind, {})
    return named


def internet_ports(document: dict[str, Any], ipv6: bool = False) -> list[int]:
    rules = resources(document, "aws_vpc_security_group_ingress_rule").values()
    if ipv6:
        return sorted(r["from_port"] for r in rules if r.get("cidr_ipv6") == "::/0")
    return sorted(r["from_port"] for r in rules if r.get("cidr_ipv4") == "0.0.0.0/0")


def ipv6_settings(document: dict[str, Any]) -> list[str]:
    """Every IPv6 argument anywhere in the document, as `kind.name.argument`."""
    return sorted(
        f"{kind}.{name}.{key}"
        for kind, named in document["resource"].items()
        for name, body in named.items()
        for key in body
        if "ipv6" in key or key == "ip_address_type"
    )


def test_without_the_sections_nothing_of_them_is_rendered() -> None:
    document = doc()
    assert EDGE_TYPES.isdisjoint(document["resource"])
    assert "url" not in document["output"]
    assert isinstance(document["provider"]["aws"], dict)  # no second provider
    http = resources(document, "aws_lb_listener")["http"]
    assert http["default_action"] == [
        {"type": "forward", "target_group_arn": "${aws_lb_target_group.app.arn}"}
    ]
    assert resources(document, "aws_ecs_service")["app"]["lifecycle"] == {
        "ignore_changes": ["task_definition"]
    }
    # The network stays IPv4-only: dual-stack comes with a domain.
    assert ipv6_settings(document) == []
    assert internet_ports(document, ipv6=True) == []


def test_a_domain_gets_a_certificate_https_and_a_redirect() -> None:
    document = doc(domain=DOMAIN)
    certificate = resources(document, "aws_acm_certificate")["main"]
    assert certificate["domain_name"] == "app.example.com"
    assert certificate["validation_method"] == "DNS"
    assert "subject_alternative_names" not in certificate
    assert document["data"]["aws_route53_zone"]["main"] == {
        "name": "example.com",
        "private_zone": False,
    }
    records = resources(document, "aws_route53_record")
    assert records["certificate_validation"]["zone_id"] == "${data.aws_route53_zone.main.zone_id}"
    assert records["certificate_validation"]["for_each"].startswith(
        "${{for o in aws_acm_certificate.main.domain_validation_options :"
    )
    assert records["app_a"] == {
        "zone_id": "${data.aws_route53_zone.main.zone_id}",
        "name": "app.example.com",
        "type": "A",
        "alias": {
            "name": "${aws_lb.main.dns_name}",
            "zone_id": "${aws_lb.main.zone_id}",
            "evaluate_target_health": True,
        },
    }
    validation = resources(document, "aws_acm_certificate_validation")["main"]
    assert validation["validation_record_fqdns"] == (
        "${[for r in aws_route53_record.certificate_validation : r.fqdn]}"
    )
    listeners = resources(document, "aws_lb_listener")
    assert listeners["https"]["port"] == 443
    assert listeners["https"]["ssl_policy"] == TLS_POLICY == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert listeners["https"]["certificate_arn"] == (
        "${aws_acm_certificate_validation.main.certificate_arn}"
    )
    assert listeners["https"]["default_action"][0]["type"] == "forward"
    assert listeners["http"]["default_action"] == [
        {
            "type": "redirect",
            "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"},
        }
    ]
    # The service waits for the HTTP listener, which waits for the HTTPS one.
    assert listeners["http"]["depends_on"] == ["aws_lb_listener.https"]
    assert internet_ports(document) == [80, 443]
    assert document["output"]["url"]["value"] == "https://app.example.com"


def test_a_domain_makes_the_alb_dual_stack_with_an_aaaa_alias() -> None:
    document = doc(domain=DOMAIN)
    assert resources(document, "aws_vpc")["main"]["assign_generated_ipv6_cidr_block"] is True
    subnets = resources(document, "aws_subnet")
    assert subnets["public_a"]["ipv6_cidr_block"] == (
        "${cidrsubnet(aws_vpc.main.ipv6_cidr_block, 8, 0)}"
    )
    assert subnets["public_c"]["ipv6_cidr_block"] == (
        "${cidrsubnet(aws_vpc.main.ipv6_cidr_block, 8, 1)}"
    )
    assert resources(document, "aws_route")["public_default_ipv6"] == {
        "route_table_id": "${aws_route_table.public.id}",
        "destination_ipv6_cidr_block": "::/0",
        "gateway_id": "${aws_internet_gateway.main.id}",
    }
    assert resources(document, "aws_lb")["main"]["ip_address_type"] == "dualstack"
    # Only these: the private subnets and the tasks stay IPv4.
    assert ipv6_settings(document) == [
        "aws_lb.main.ip_address_type",
        "aws_route.public_default_ipv6.destination_ipv6_cidr_block",
        "aws_subnet.public_a.ipv6_cidr_block",
        "aws_subnet.public_c.ipv6_cidr_block",
        "aws_vpc.main.assign_generated_ipv6_cidr_block",
        "aws_vpc_security_group_ingress_rule.alb_from_internet_443_ipv6.cidr_ipv6",
        "aws_vpc_security_group_ingress_rule.alb_from_internet_80_ipv6.cidr_ipv6",
    ]
    ingress = resources(document, "aws_vpc_security_group_ingress_rule")
    assert ingress["alb_from_internet_443_ipv6"] == {
        "security_group_id": "${aws_security_group.alb.id}",
        "description": "Port 443 from the internet (IPv6)",
        "ip_protocol": "tcp",
        "from_port": 443,
        "to_port": 443,
        "cidr_ipv6": "::/0",
    }
    assert internet_ports(document, ipv6=True) == internet_ports(document) == [80, 443]
    assert resources(document, "aws_route53_record")["app_aaaa"] == {
        "zone_id": "${data.aws_route53_zone.main.zone_id}",
        "name": "app.example.com",
        "type": "AAAA",
        "alias": {
            "name": "${aws_lb.main.dns_name}",
            "zone_id": "${aws_lb.main.zone_id}",
            "evaluate_target_health": True,
        },
    }


def test_external_dns_keeps_the_alb_dual_stack() -> None:
    """The CNAME the user adds at their DNS answers A and AAAA queries alike."""
    document = doc(domain={"name": "app.example.com", "dns": "external"})
    assert resources(document, "aws_lb")["main"]["ip_address_type"] == "dualstack"
    assert internet_ports(document, ipv6=True) == [80, 443]
    assert document["output"]["load_balancer_dns"]["value"] == "${aws_lb.main.dns_name}"


def test_external_dns_writes_no_record_and_waits_for_issuance() -> None:
    document = doc(domain={"name": "app.example.com", "dns": "external"})
    assert "data" not in document or "aws_route53_zone" not in document["data"]
    assert not resources(document, "aws_route53_record")
    validation = resources(document, "aws_acm_certificate_validation")["main"]
    assert validation == {
        "certificate_arn": "${aws_acm_certificate.main.arn}",
        "timeouts": {"create": "1h"},
    }
    assert document["output"]["url"]["value"] == "https://app.example.com"


def test_a_cdn_fronts_the_alb_which_admits_only_cloudfront() -> None:
    document = doc(domain={**DOMAIN, "cdn": True})
    default, east = document["provider"]["aws"]
    assert east["alias"] == "us_east_1" and east["region"] == "us-east-1"
    assert east["default_tags"] == default["default_tags"]
    cdn_certificate = resources(document, "aws_acm_certificate")["cdn"]
    assert cdn_certificate["provider"] == "aws.us_east_1"
    assert cdn_certificate["domain_name"] == "app.example.com"
    main_certificate = resources(document, "aws_acm_certificate")["main"]
    assert main_certificate["subject_alternative_names"] == ["origin.app.example.com"]
    distribution = resources(document, "aws_cloudfront_distribution")["main"]
    assert distribution["aliases"] == ["app.example.com"]
    assert distribution["origin"][0]["domain_name"] == "origin.app.example.com"
    assert distribution["origin"][0]["custom_origin_config"]["origin_protocol_policy"] == (
        "https-only"
    )
    assert distribution["default_cache_behavior"]["cache_policy_id"] == CACHING_DISABLED
    static = distribution["ordered_cache_behavior"]
    assert [(b["path_pattern"], b["cache_policy_id"]) for b in static] == [
        ("/assets/*", CACHING_OPTIMIZED)
    ]
    assert distribution["viewer_certificate"]["minimum_protocol_version"] == "TLSv1.2_2021"
    # Nothing reaches the ALB from the internet at large: only CloudFront, on 443, over
    # IPv4 (CloudFront's default towards a custom origin). The ALB stays dual-stack, so
    # turning the CDN on or off never touches the network.
    assert internet_ports(document) == internet_ports(document, ipv6=True) == []
    assert resources(document, "aws_lb")["main"]["ip_address_type"] == "dualstack"
    rule = resources(document, "aws_vpc_security_group_ingress_rule")["alb_from_cloudfront_443"]
    assert rule["prefix_list_id"] == "${data.aws_ec2_managed_prefix_list.cloudfront.id}"
    assert document["data"]["aws_ec2_managed_prefix_list"]["cloudfront"] == {
        "name": "com.amazonaws.global.cloudfront.origin-facing"
    }
    records = resources(document, "aws_route53_record")
    assert records["app_a"]["alias"]["name"] == "${aws_cloudfront_distribution.main.domain_name}"
    assert records["app_aaaa"]["type"] == "AAAA"
    assert records["origin_a"]["name"] == "origin.app.example.com"
    assert records["origin_a"]["alias"]["name"] == "${aws_lb.main.dns_name}"
    assert records["app_aaaa"]["alias"]["name"] == (
        "${aws_cloudfront_distribution.main.domain_name}"
    )
    assert sorted(records) == ["app_a", "app_aaaa", "certificate_validation", "origin_a"]


def test_django_static_files_are_cached_under_static() -> None:
    document = doc(framework="django", domain={**DOMAIN, "cdn": True})
    distribution = resources(document, "aws_cloudfront_distribution")["main"]
    assert distribution["ordered_cache_behavior"][0]["path_pattern"] == "/static/*"


def test_autoscaling_owns_the_count_inside_its_range() -> None:
    document = doc(
        service={"desired_count": 9},
        autoscaling={"min": 2, "max": 6, "cpu_target": 70, "requests_per_target": 500},
    )
    target = resources(document, "aws_appautoscaling_target")["service"]
    assert (target["min_capacity"], target["max_capacity"]) == (2, 6)
    assert target["resource_id"] == (
        "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.app.name}"
    )
    policies = resources(document, "aws_appautoscaling_policy")
    cpu = policies["cpu"]["target_tracking_scaling_policy_configuration"]
    assert cpu["target_value"] == 70
    assert cpu["predefined_metric_specification"] == {
        "predefined_metric_type": "ECSServiceAverageCPUUtilization"
    }
    requests = policies["requests"]["target_tracking_scaling_policy_configuration"]
    assert requests["target_value"] == 500
    assert requests["predefined_metric_specification"]["resource_label"] == (
        "${aws_lb.main.arn_suffix}/${aws_lb_target_group.app.arn_suffix}"
    )
    service = resources(document, "aws_ecs_service")["app"]
    assert service["desired_count"] == 6  # the configured 9, inside [2, 6]
    assert service["lifecycle"]["ignore_changes"] == ["task_definition", "desired_count"]


def test_cpu_alone_when_no_request_target() -> None:
    policies = resources(doc(autoscaling={"min": 1, "max": 3}), "aws_appautoscaling_policy")
    assert list(policies) == ["cpu"]
    assert policies["cpu"]["target_tracking_scaling_policy_configuration"]["target_value"] == 60


def test_alarms_mail_the_topic_and_roll_deploys_back() -> None:
    document = doc(alarms={"email": ["ops@example.com", "dev@example.com"], "p95_response_ms": 800})
    subscriptions = resources(document, "aws_sns_topic_subscription")["email"]
    assert subscriptions["for_each"] == {
        "ops@example.com": "ops@example.com",
        "dev@example.com": "dev@example.com",
    }
    assert subscriptions["protocol"] == "email"
    alarms = resources(document, "aws_cloudwatch_metric_alarm")
    assert sorted(a["alarm_name"] for a in alarms.values()) == [
        "shop-alb-5xx",
        "shop-app-5xx",
        "shop-db-connections",
        "shop-db-cpu",
        "shop-db-free-storage",
        "shop-db-freeable-memory",
        "shop-ecs-cpu",
        "shop-ecs-memory",
        "shop-p95-response",
        "shop-unhealthy-tasks",
    ]
    for alarm in alarms.values():
        assert alarm["alarm_actions"] == ["${aws_sns_topic.alarms.arn}"]
        assert alarm["treat_missing_data"] == "notBreaching"
    p95 = alarms["p95_response_ms"]
    assert (p95["extended_statistic"], p95["threshold"]) == ("p95", 0.8)
    storage = alarms["rds_free_storage_mb"]
    assert storage["threshold"] == 2048 * 1024 * 1024
    assert storage["dimensions"] == {"DBInstanceIdentifier": "shop-db"}
    assert storage["comparison_operator"] == "LessThanThreshold"
    rate = alarms["target_5xx_percent"]["metric_query"]
    assert rate[2]["expression"] == "IF(requests >= 20, 100 * FILL(errors, 0) / requests, 0)"
    assert rate[0]["metric"]["metric_name"] == "HTTPCode_Target_5XX_Count"
    ecs_cpu = alarms["ecs_cpu_percent"]
    assert ecs_cpu["dimensions"] == {"ClusterName": "shop-cluster", "ServiceName": "shop-service"}
    assert resources(document, "aws_ecs_service")["app"]["alarms"] == {
        "alarm_names": ["shop-alb-5xx", "shop-app-5xx"],
        "enable": True,
        "rollback": True,
    }
    body = json.loads(resources(document, "aws_cloudwatch_dashboard")["main"]["dashboard_body"])
    drawn = [w["properties"]["annotations"]["alarms"][0] for w in body["widgets"]]
    assert drawn == [f"${{aws_cloudwatch_metric_alarm.{key}.arn}}" for key in alarms]


def test_aurora_has_no_storage_alarm_and_cluster_dimensions() -> None:
    document = doc(database={"engine": "aurora-mysql"}, alarms={})
    alarms = resources(document, "aws_cloudwatch_metric_alarm")
    assert "rds_free_storage_mb" not in alarms
    assert alarms["rds_cpu_percent"]["dimensions"] == {"DBClusterIdentifier": "shop-db"}
    assert "aws_sns_topic_subscription" not in document["resource"]


@pytest.mark.parametrize("cdn", [False, True], ids=["alb", "cloudfront"])
def test_waf_guards_the_entry_point(cdn: bool) -> None:
    document = doc(domain={**DOMAIN, "cdn": cdn, "waf": True})
    # Its own address per scope: turning cdn on destroys the regional ACL, not orphans it.
    [(name, acl)] = resources(document, "aws_wafv2_web_acl").items()
    assert name == ("cdn" if cdn else "main")
    assert [r["name"] for r in acl["rule"]] == [
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "rate-limit-per-ip",
    ]
    assert acl["rule"][2]["statement"]["rate_based_statement"]["limit"] == 2000
    association = resources(document, "aws_wafv2_web_acl_association")
    if cdn:
        assert (acl["scope"], acl["provider"]) == ("CLOUDFRONT", "aws.us_east_1")
        assert not association
        distribution = resources(document, "aws_cloudfront_distribution")["main"]
        assert distribution["web_acl_id"] == "${aws_wafv2_web_acl.cdn.arn}"
    else:
        assert acl["scope"] == "REGIONAL" and "provider" not in acl
        assert association["load_balancer"]["resource_arn"] == "${aws_lb.main.arn}"


def test_deep_pause_keeps_the_edge_consistent() -> None:
    document = doc(
        paused=True,
        domain={**DOMAIN, "waf": True},
        autoscaling={"min": 2, "max": 4},
        alarms={"email": ["ops@example.com"]},
    )
    kinds = set(document["resource"])
    # Auto scaling would start tasks again; these point at the ALB, which is gone.
    assert not kinds & {
        "aws_appautoscaling_target",
        "aws_appautoscaling_policy",
        "aws_wafv2_web_acl_association",
        "aws_cloudwatch_dashboard",
    }
    assert list(resources(document, "aws_route53_record")) == ["certificate_validation"]
    assert sorted(resources(document, "aws_cloudwatch_metric_alarm")) == [
        "ecs_cpu_percent",
        "ecs_memory_percent",
        "rds_connections",
        "rds_cpu_percent",
        "rds_free_storage_mb",
        "rds_freeable_memory_mb",
    ]
    assert {"aws_acm_certificate", "aws_sns_topic", "aws_wafv2_web_acl"} <= kinds
    assert resources(document, "aws_ecs_service")["app"]["desired_count"] == 0


@pytest.mark.parametrize(
    ("framework", "told"),
    [
        ("django", {"DJANGO_HTTPS": "1", "DJANGO_CSRF_TRUSTED_ORIGINS": "https://app.example.com"}),
        ("rails", {"RAILS_ASSUME_SSL": "1"}),
        ("container", {}),
    ],
)
def test_the_framework_is_told_it_sits_behind_tls(framework: str, told: dict[str, str]) -> None:
    def variables(document: dict[str, Any]) -> dict[str, str]:
        definition = resources(document, "aws_ecs_task_definition")["app"]
        container = json.loads(definition["container_definitions"])[0]
        return {v["name"]: v["value"] for v in container["environment"]}

    with_domain = variables(doc(framework=framework, domain=DOMAIN))
    without = variables(doc(framework=framework))
    assert {k: v for k, v in with_domain.items() if k not in without} == told
