"""The apply progress view, fed with messages shaped like `terraform apply -json` output."""

from __future__ import annotations

from rich.console import Console

from hakobu.cli.ui import ApplyProgress


def _hook(kind: str, address: str, action: str = "create", **extra: object) -> dict[str, object]:
    hook = {"resource": {"addr": address}, "action": action, **extra}
    return {"type": kind, "hook": hook}


def test_progress_lists_finished_resources_with_times_and_heartbeats() -> None:
    console = Console(width=120, record=True, no_color=True, force_terminal=False)
    with ApplyProgress(console, total=2) as view:
        view(_hook("apply_start", "aws_vpc.main"))
        view(_hook("apply_complete", "aws_vpc.main", elapsed_seconds=2))
        view(_hook("apply_start", "aws_db_instance.main"))
        for elapsed in (10, 20, 30, 40, 50, 60):
            view(_hook("apply_progress", "aws_db_instance.main", elapsed_seconds=elapsed))
        view(_hook("apply_errored", "aws_db_instance.main", elapsed_seconds=65))
    lines = [line.rstrip() for line in console.export_text().splitlines() if line.strip()]
    assert lines == [
        "✓ aws_vpc.main created (2s)  [1/2]",
        "  … still creating aws_db_instance.main (30s)",
        "  … still creating aws_db_instance.main (1m00s)",
        "✗ aws_db_instance.main create failed (1m05s)  [2/2]",
    ]


def test_a_data_source_read_during_apply_is_not_counted() -> None:
    """Terraform reports data sources it reads mid-apply (`data.aws_arn...`); the plan's
    total does not count them, so the view must not either ([46/45] before)."""
    console = Console(width=120, record=True, no_color=True, force_terminal=False)
    with ApplyProgress(console, total=1) as view:
        view(_hook("apply_start", "data.aws_arn.secret", action="read"))
        view(_hook("apply_complete", "data.aws_arn.secret", action="read"))
        view(_hook("apply_start", "aws_vpc.main"))
        view(_hook("apply_complete", "aws_vpc.main", elapsed_seconds=2))
    lines = [line.rstrip() for line in console.export_text().splitlines() if line.strip()]
    assert lines == ["✓ aws_vpc.main created (2s)  [1/1]"]
