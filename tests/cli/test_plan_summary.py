"""Plan summaries from Terraform's machine-readable output, grouped by part."""

from __future__ import annotations

from rich.console import Console

from hakobu.cli.ui import plan_headline, plan_table
from hakobu.provision.terraform import summarize_plan, summarize_saved_plan


def _planned(address: str, action: str) -> dict[str, object]:
    kind = address.split(".")[0]
    return {
        "type": "planned_change",
        "change": {"resource": {"addr": address, "resource_type": kind}, "action": action},
    }


EVENTS = [
    {"type": "version", "terraform": "1.11.4"},
    _planned("aws_vpc.main", "create"),
    _planned("aws_subnet.public_a", "create"),
    _planned("aws_lb_target_group.app", "update"),
    _planned("aws_db_instance.main", "replace"),
    _planned("aws_cloudwatch_log_group.app", "delete"),
    {
        "type": "change_summary",
        "changes": {"add": 3, "change": 1, "remove": 2, "operation": "plan"},
    },
]


def _render(table: object) -> str:
    console = Console(width=120, record=True, no_color=True)
    console.print(table)
    return console.export_text()


def test_summary_counts_and_groups_changes_by_part() -> None:
    summary = summarize_plan(EVENTS)
    assert (summary.add, summary.change, summary.destroy) == (3, 1, 2)
    assert plan_headline(summary) == "Plan: 3 to add, 1 to change, 2 to destroy."
    rows = {
        line.split()[0] if not line.startswith("load") else "load balancer": line.split()[-4:]
        for line in _render(plan_table(summary)).splitlines()[1:]
        if line
    }
    assert rows == {
        "network": ["2", "-", "-", "-"],
        "load balancer": ["-", "1", "-", "-"],
        "database": ["-", "-", "1", "-"],
        "logs": ["-", "-", "-", "1"],
    }


def test_empty_plan_says_so() -> None:
    summary = summarize_plan(
        [{"type": "change_summary", "changes": {"add": 0, "change": 0, "remove": 0}}]
    )
    assert summary.empty
    assert plan_headline(summary) == "No changes: the infrastructure matches hakobu.toml."


def test_saved_plan_summary_matches_terraform_show_json() -> None:
    plan = {
        "resource_changes": [
            {"address": "aws_vpc.main", "type": "aws_vpc", "change": {"actions": ["create"]}},
            {
                "address": "aws_db_instance.main",
                "type": "aws_db_instance",
                "change": {"actions": ["delete", "create"]},
            },
            {
                "address": "aws_ecs_service.app",
                "type": "aws_ecs_service",
                "change": {"actions": ["update"]},
            },
            {
                "address": "data.aws_caller_identity.me",
                "type": "aws_caller_identity",
                "change": {"actions": ["read"]},
            },
            {
                "address": "aws_ecr_repository.app",
                "type": "aws_ecr_repository",
                "change": {"actions": ["no-op"]},
            },
        ]
    }
    summary = summarize_saved_plan(plan)
    assert (summary.add, summary.change, summary.destroy) == (2, 1, 1)
    assert [c.action for c in summary.changes] == ["create", "replace", "update"]


def test_an_import_only_plan_is_not_empty() -> None:
    """A restored secret adopted into the state is work for `up`, not "no changes"."""
    summary = summarize_plan(
        [
            {
                "type": "change_summary",
                "changes": {"add": 0, "change": 0, "import": 1, "remove": 0, "operation": "plan"},
            }
        ]
    )
    assert not summary.empty
    assert plan_headline(summary) == "Plan: 1 to import, 0 to add, 0 to change, 0 to destroy."
    saved = summarize_saved_plan(
        {
            "resource_changes": [
                {
                    "address": "aws_secretsmanager_secret.db_password",
                    "type": "aws_secretsmanager_secret",
                    "change": {
                        "actions": ["no-op"],
                        "importing": {"id": "arn:aws:secretsmanager:..."},
                    },
                }
            ]
        }
    )
    assert saved.imports == 1 and not saved.empty
