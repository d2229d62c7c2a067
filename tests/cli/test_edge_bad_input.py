"""Bad input in [domain], [autoscaling] and [alarms], and edge commands without their
section: exit 2, one message with the fix, no Terraform call, no AWS request, nothing
started (the detectors and the checks are those of tests/cli/test_bad_input.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.cli.test_bad_input import VALID, Case, Outcome, _attempt
from tests.cli.test_bad_input import (
    test_bad_input_stops_before_terraform_and_aws as stopped_before_terraform_and_aws,
)

ZONE = '[domain]\nname = "app.example.com"\nzone = "example.com"\n'
SCALING = "[autoscaling]\nmin = 1\nmax = 4\n"

CASES = [
    Case(
        "domain-outside-zone",
        VALID + '[domain]\nname = "app.other.com"\nzone = "example.com"\n',
        ("domain.name", "'app.other.com' is not inside the zone 'example.com'"),
        ('use a name ending in ".example.com"',),
    ),
    Case(
        "domain-not-a-host-name",
        VALID + '[domain]\nname = "https://app.example.com/"\nzone = "example.com"\n',
        ("domain.name", "is not a DNS host name"),
        ("no scheme, port or path",),
    ),
    Case(
        "domain-zone-and-external",
        VALID + ZONE + 'dns = "external"\n',
        ("domain.zone", 'zone and dns = "external" exclude each other'),
        ("not both",),
    ),
    Case(
        "domain-cdn-without-a-name",
        VALID + "[domain]\ncdn = true\n",
        ("domain.name", "cdn = true needs the public host name"),
        ('add name = "app.example.com" to [domain]',),
    ),
    Case(
        "domain-without-zone-or-external",
        VALID + '[domain]\nname = "app.example.com"\n',
        ("domain.zone", "where the DNS records go"),
        ('dns = "external"',),
        args=("up", "--yes", "--sandbox"),
    ),
    Case(
        "autoscaling-min-above-max",
        VALID + "[autoscaling]\nmin = 5\nmax = 3\n",
        ("autoscaling.min", "min = 5 is above max = 3"),
        ("make min at most max",),
    ),
    Case(
        "autoscaling-max-too-high",
        VALID + "[autoscaling]\nmax = 5000\n",
        ("autoscaling.max", "above hakobu's limit of 100"),
        ("use max = 100 or fewer",),
    ),
    Case(
        "autoscaling-cpu-target-not-a-percentage",
        VALID + "[autoscaling]\ncpu_target = 150\n",
        ("autoscaling.cpu_target", "150 is not a CPU percentage"),
        ("from 1 to 100",),
    ),
    Case(
        "staging-autoscaling-override",
        VALID + SCALING + "[environments.production]\n"
        "[environments.staging]\nautoscaling.min = 9\n",
        ("environments.staging.autoscaling.min", "min = 9 is above max = 4"),
        ("make min at most max",),
    ),
    Case(
        "alarms-invalid-email",
        VALID + '[alarms]\nemail = ["ops@example.com", "ops-at-example.com"]\n',
        ("alarms.email.1", "'ops-at-example.com' is not an e-mail address"),
        ('"ops@example.com"',),
    ),
    Case(
        "alarms-unknown-key",
        VALID + "[alarms]\nalb_5xx = 3\n",
        ("alarms.alb_5xx", "unknown key 'alb_5xx'"),
        ("did you mean 'alb_5xx_percent'?",),
    ),
    Case(
        "alarms-threshold-out-of-range",
        VALID + "[alarms]\ntarget_5xx_percent = 0\n",
        ("alarms.target_5xx_percent", "0 is out of range"),
        ("at least 1",),
    ),
    Case(
        "scale-outside-the-autoscaling-range",
        VALID + SCALING,
        ("COUNT 9 is outside the auto scaling range 1-4",),
        ("pass 1 to 4", "[autoscaling] min / max"),
        args=("scale", "9", "--sandbox"),
    ),
    Case(
        "alarms-command-without-alarms",
        VALID,
        ("alarms", "has no [alarms] section"),
        ('add [alarms] with email = ["you@example.com"]',),
        args=("alarms", "--sandbox"),
    ),
    Case(
        "domain-status-without-domain",
        VALID,
        ("domain", "has no [domain] section"),
        ('add [domain] with name = "app.example.com"',),
        args=("domain", "status", "--sandbox"),
    ),
]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            case.id: pool.submit(_attempt, case, tmp_path_factory.mktemp(case.id)) for case in CASES
        }
    return {case_id: future.result() for case_id, future in futures.items()}


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_edge_bad_input_stops_before_terraform_and_aws(
    case: Case, outcomes: dict[str, Outcome]
) -> None:
    stopped_before_terraform_and_aws(case, outcomes)


def test_there_are_at_least_ten_edge_cases() -> None:
    assert len(CASES) >= 10 and len({c.id for c in CASES}) == len(CASES)
