"""Schedule expressions: hakobu.toml's cron/rate to Scheduler's form, and the next run."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hakobu.core.cron import ExpressionError, cron_expression, next_run, rate_expression

# A Monday, 2026-11-30 12:00 UTC (21:00 in Tokyo).
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("written", "scheduler"),
    [
        ("0 3 * * *", "cron(0 3 * * ? *)"),
        ("*/15 * * * *", "cron(*/15 * * * ? *)"),
        ("0 9 * * MON-FRI", "cron(0 9 ? * MON-FRI *)"),
        ("30 2 L * *", "cron(30 2 L * ? *)"),
        ("0 8 * * FRI#1", "cron(0 8 ? * FRI#1 *)"),
    ],
)
def test_five_fields_become_schedulers_six(written: str, scheduler: str) -> None:
    assert cron_expression(written) == scheduler


@pytest.mark.parametrize(
    ("written", "expression"),
    [
        ("1 minute", "rate(1 minute)"),
        ("5 minutes", "rate(5 minutes)"),
        ("rate(2 days)", "rate(2 days)"),
    ],
)
def test_rates_keep_schedulers_form(written: str, expression: str) -> None:
    assert rate_expression(written) == expression


@pytest.mark.parametrize("written", ["5 minute", "0 hours", "1.5 hours", "every hour"])
def test_rates_scheduler_refuses(written: str) -> None:
    with pytest.raises(ExpressionError):
        rate_expression(written)


@pytest.mark.parametrize(
    "written", ["0 24 * * *", "0 3 32 * *", "0 3 * 13 *", "0 3 * * 0", "5-1 * * * *", "0 3 * *"]
)
def test_crons_scheduler_refuses(written: str) -> None:
    with pytest.raises(ExpressionError):
        cron_expression(written)


def test_next_run_is_in_the_schedules_time_zone() -> None:
    run = next_run("cron(0 3 * * ? *)", "Asia/Tokyo", NOW)
    assert run is not None and run.isoformat() == "2026-12-01T03:00:00+09:00"
    # The same expression in UTC: tomorrow at 03:00 UTC.
    utc = next_run("cron(0 3 * * ? *)", "UTC", NOW)
    assert utc is not None and utc.isoformat() == "2026-12-01T03:00:00+00:00"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("cron(0 9 ? * MON-FRI *)", "2026-12-01T09:00:00+00:00"),  # Tuesday
        ("cron(0 9 ? * SAT *)", "2026-12-05T09:00:00+00:00"),
        ("cron(30 2 L * ? *)", "2026-12-31T02:30:00+00:00"),
        ("cron(0 8 ? * FRI#1 *)", "2026-12-04T08:00:00+00:00"),
        ("cron(0 8 ? * 6L *)", "2026-12-25T08:00:00+00:00"),  # last Friday of December
        ("cron(0 0 1W * ? *)", "2026-12-01T00:00:00+00:00"),
        ("cron(0 0 1 1 ? 2028)", "2028-01-01T00:00:00+00:00"),
        ("cron(*/20 * * * ? *)", "2026-11-30T12:20:00+00:00"),
        ("rate(1 hour)", "2026-11-30T13:00:00+00:00"),
    ],
)
def test_next_run(expression: str, expected: str) -> None:
    run = next_run(expression, "UTC", NOW)
    assert run is not None and run.isoformat() == expected


def test_an_expression_with_no_future_run_has_none() -> None:
    assert next_run("cron(0 0 1 1 ? 2020)", "UTC", NOW) is None
