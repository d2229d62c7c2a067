"""A wrong hakobu.toml value is reported at the key the user wrote, with what it allows.

msgspec says where an error is as `$.processes[...]` for a key of a table of tables;
these cases check that the message still names the process, the environment or the
schedule, and that each kind of mistake gets its own problem and fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hakobu.core.config import parse_project
from hakobu.core.errors import ConfigError

WORKER = {"command": ["bin/jobs"]}


def _error(raw: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_project({"app": "shop", **raw}, Path("."))
    return caught.value


@pytest.mark.parametrize(
    ("raw", "key", "problem", "fix"),
    [
        (
            {"processes": {"jobs": WORKER, "mailer": {**WORKER, "cpu": "512"}}},
            "processes.mailer.cpu",
            "expected a whole number, got '512'",
            "without quotes",
        ),
        (
            {"processes": {"jobs": {**WORKER, "cpus": 512}}},
            "processes.jobs.cpus",
            "unknown key 'cpus'",
            "did you mean 'cpu'?",
        ),
        (
            {"processes": {"jobs": {**WORKER, "cpu": 300}}},
            "processes.jobs.cpu",
            "300 is not a Fargate CPU size",
            "use one of 256, 512",
        ),
        (
            {"environments": {"staging": {"service": {"port": 0}}}},
            "environments.staging.service.port",
            "0 is out of range",
            "use a value at least 1",
        ),
        (
            {"environments": {"staging": 5}},
            "environments.staging",
            "expected a table, got 5",
            "section",
        ),
        (
            {"deploy": {"builder": "nerdctl"}},
            "deploy.builder",
            "'nerdctl' is not allowed",
            "use 'docker', 'podman' or 'buildah'",
        ),
        (
            {"schedules": [{"name": "nightly", "cron": "0 3 * * *", "command": ["a"]},
                           {"name": "hourly", "rate": "1 hour"}]},
            "schedules.1.command",
            "this key is required",
            "add command = ...",
        ),
        (
            {"schedules": [{"name": "nightly", "cron": "0 3 * * *", "command": "bin/rails x"}]},
            "schedules.0.command",
            "the command is one string",
            'command = ["bin/rails", "x"]',
        ),
        (
            {"database": {"min_capacity": "1"}},
            "database.min_capacity",
            "expected a number, got '1'",
            "without quotes",
        ),
        (
            {"servce": {"cpu": 256}},
            "servce",
            "unknown key 'servce'",
            "did you mean 'service'?",
        ),
    ],
)  # fmt: skip
def test_the_message_names_the_key_the_problem_and_the_fix(
    raw: dict[str, Any], key: str, problem: str, fix: str
) -> None:
    error = _error(raw)
    assert error.key == key
    assert problem in str(error)
    assert error.fix is not None and fix in error.fix


def test_an_inherited_mistake_is_reported_where_it_was_written() -> None:
    # The shared [service] is wrong; staging only inherits it.
    error = _error({"service": {"port": 70000}, "environments": {"staging": {}}})
    assert error.key == "service.port"
    assert "out of range" in str(error) and "at most 65535" in str(error.fix)


def test_a_process_check_in_an_environment_is_reported_in_that_environment() -> None:
    staging = {"processes": {"jobs": {"command": "bin/jobs --queue default"}}}
    error = _error({"environments": {"staging": staging}})
    assert error.key == "environments.staging.processes.jobs.command"
    assert error.fix is not None and '["bin/jobs", "--queue", "default"]' in error.fix
