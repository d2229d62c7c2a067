"""HTTPS on the load balancer: the 443 listener with the domain's certificate, and port 80
answering a permanent redirect instead of serving the app in clear text.

Used by the load balancer part when [domain] is set; without it the HTTP listener forwards
as before. The certificate itself is the domain part's (`blueprint.domain`).
"""

from __future__ import annotations

from typing import Any

from hakobu.core.config import Environment
from hakobu.provision.blueprint.document import Fragment, ref

CERTIFICATE = "aws_acm_certificate.main"
# The certificate once ACM has issued it: a listener given a pending one fails to create.
CERTIFICATE_VALIDATION = "aws_acm_certificate_validation.main"
HTTPS_LISTENER = "aws_lb_listener.https"
# TLS 1.3 and 1.2 with forward-secret AEAD/CBC suites only, no TLS 1.0/1.1: AWS's
# recommended policy and the console's default for new HTTPS listeners. TLS 1.2 stays for
# older clients (Java 8, Android < 10); the "-Res-" variant would also drop CBC suites some
# of them still need, and "FS-1-2" policies cannot negotiate TLS 1.3 at all.
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def serves_https(env: Environment) -> bool:
    return env.settings.domain is not None


def http_default_action(env: Environment, target_group_arn: str) -> dict[str, Any]:
    """Port 80's action: forward (no domain), or a 301 to the same URL over HTTPS."""
    if not serves_https(env):
        return {"type": "forward", "target_group_arn": target_group_arn}
    return {
        "type": "redirect",
        "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"},
    }


def https_listener(part: Fragment, env: Environment, lb_arn: str, target_group_arn: str) -> None:
    """The 443 listener forwarding to the app, when the environment has a domain."""
    if not serves_https(env):
        return
    part.resource(
        "aws_lb_listener",
        "https",
        {
            "load_balancer_arn": lb_arn,
            "port": 443,
            "protocol": "HTTPS",
            "ssl_policy": TLS_POLICY,
            "certificate_arn": ref(CERTIFICATE_VALIDATION, "certificate_arn"),
            "default_action": [{"type": "forward", "target_group_arn": target_group_arn}],
        },
    )


def tls_environment(env: Environment) -> dict[str, str]:
    """Tell the framework it sits behind TLS, once there is a domain.

    Django (see examples/django-app/config/settings.py): DJANGO_HTTPS turns on the HTTPS
    redirect, secure cookies and HSTS; CSRF checks accept forms posted from the domain.
    Rails: RAILS_ASSUME_SSL for `config.assume_ssl` / `config.force_ssl` in production.rb
    (`hakobu init` writes the two lines to add). Nothing without [domain].
    """
    settings = env.settings.domain
    if settings is None:
        return {}
    if env.framework == "django":
        return {"DJANGO_HTTPS": "1", "DJANGO_CSRF_TRUSTED_ORIGINS": f"https://{settings.name}"}
    if env.framework == "rails":
        return {"RAILS_ASSUME_SSL": "1"}
    return {}
