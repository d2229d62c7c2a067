"""The policies fit IAM: every customer managed policy within 6,144 characters (whitespace not
counted, IAM quotas), provision's split into named policies that together hold all of it."""

from __future__ import annotations

import json

import pytest

from hakobu.provision.iam_managed_policies import (
    DEFAULT_ATTACHED_POLICIES,
    MANAGED_POLICY_LIMIT,
    managed_policies,
    size,
)
from hakobu.provision.iam_policies import KINDS, Scope, policy
from tests.conftest import environment_of
from tests.provision.test_iam_policies import APPS, CONFIGS, RAILS, SCOPE, WITH_EVERYTHING


@APPS
@pytest.mark.parametrize("kind", KINDS)
def test_every_policy_fits_one_customer_managed_policy(kind: str, raw: dict) -> None:
    env = environment_of(raw)
    named = managed_policies(env, kind, SCOPE)
    for each in named:
        assert size(each.document) <= MANAGED_POLICY_LIMIT, (each.name, size(each.document))
        # Sids are unique within a policy (IAM refuses a document that repeats one).
        sids = [s["Sid"] for s in each.document["Statement"]]
        assert len(sids) == len(set(sids)), each.name
    assert len({each.name for each in named}) == len(named)
    statements = [s for each in named for s in each.document["Statement"]]
    assert statements == policy(env, kind, SCOPE)["Statement"]


# Operate with Aurora, autoscaling, alarms and a domain at once outgrows one policy (it
# reads and pauses each of them, and registers tagged revisions for `secrets set`).
_SPLIT = {"deploy": ("with-everything",), "operate": ("with-everything", "with-optional-parts")}
_ONE_POLICY = [(kind, name) for kind in _SPLIT for name in CONFIGS if name not in _SPLIT[kind]]


@pytest.mark.parametrize(("kind", "config"), _ONE_POLICY)
def test_deploy_and_operate_stay_one_policy(kind: str, config: str) -> None:
    raw = CONFIGS[config]
    [single] = managed_policies(environment_of(raw), kind, SCOPE)
    assert single.name == f"rails-app-hakobu-{kind}"
    assert single.document == policy(environment_of(raw), kind, SCOPE)


def test_operate_with_the_optional_parts_comes_in_two_policies() -> None:
    env = environment_of(CONFIGS["with-optional-parts"])
    named = managed_policies(env, "operate", SCOPE)
    names = [each.name for each in named]
    assert names == ["rails-app-hakobu-operate", "rails-app-hakobu-operate-2"]
    statements = [s for each in named for s in each.document["Statement"]]
    assert statements == policy(env, "operate", SCOPE)["Statement"]


def test_every_part_at_once_still_leaves_room_among_the_attached_policies() -> None:
    env = environment_of(WITH_EVERYTHING)
    names = [p.name for kind in KINDS for p in managed_policies(env, kind, SCOPE)]
    assert len(names) <= DEFAULT_ATTACHED_POLICIES
    provision = [n for n in names if "-provision-" in n]
    assert provision == [
        f"rails-app-hakobu-provision-{g}"
        for g in ("network", "edge", "compute", "iam", "data", "monitoring")
    ]
    # The operate policy of every part at once outgrows one policy: it comes in two.
    assert [n for n in names if "-operate" in n] == [
        "rails-app-hakobu-operate",
        "rails-app-hakobu-operate-2",
    ]


def test_a_group_that_outgrows_the_limit_is_split_under_numbered_names() -> None:
    # The longest app name, six workers and twelve schedules (their services, families and
    # schedules are in compute's statements) in a long-named partition and region.
    workers = {f"worker{i}": {"command": ["bin/jobs"]} for i in range(6)}
    schedules = [{"name": f"job{i}", "cron": "0 3 * * *", "command": ["bin/x"]} for i in range(12)]
    raw = {**WITH_EVERYTHING, "app": "a" * 21, "processes": workers, "schedules": schedules}
    scope = Scope("aws-us-gov", "us-gov-west-1", "123456789012")
    named = managed_policies(environment_of(raw), "provision", scope)
    assert all(size(p.document) <= MANAGED_POLICY_LIMIT for p in named)
    prefix = "a" * 21 + "-hakobu-provision-"
    assert [p.name.removeprefix(prefix) for p in named] == [
        "network",
        "edge",
        "compute",
        "compute-2",
        "iam",
        "data",
        "monitoring",
    ]


def test_the_size_is_the_document_without_whitespace() -> None:
    document = policy(environment_of(RAILS), "deploy", SCOPE)
    assert size(document) == len(json.dumps(document, indent=2).replace("\n", "").replace(" ", ""))
