"""[processes.NAME], [[schedules]] and [storage]: what runs beside web, when, and the bucket.

`web` is the service behind the load balancer, sized by [service]; `[processes.web]` may
only give its command. Every other process is an ECS service `{prefix}-{name}` running the
same image with its own command, size, count and Spot setting. A schedule runs a one-off
task of the current release at each time of its cron or rate expression.
"""

from __future__ import annotations

import re
import shlex
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

from msgspec import Meta

from hakobu.core.config.section import KeyProblem, Section, within
from hakobu.core.cron import ExpressionError, cron_expression, rate_expression
from hakobu.core.errors import ConfigError
from hakobu.core.fargate import FARGATE_MEMORY_BY_CPU, describe_allowed_memory

if TYPE_CHECKING:
    from hakobu.core.config.schema import Environment

WEB = "web"
# Short enough that `{prefix}-{name}` (at most 28 + 1 + 20) fits every AWS name it makes.
PROCESS_NAME = re.compile(r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$")
SCHEDULE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# Besides every `{prefix}-X` of core.names: `{prefix}-app-*` are the app's secrets, and
# `scheduler` reads as the scheduler's own.
OWN_SUFFIXES = ("app", "scheduler")


def _command_list(data: Any, key: str = "command") -> None:
    """A command written as one string gets a fix that splits it the way a shell would."""
    if isinstance(data, dict) and isinstance(data.get(key), str):
        split = ", ".join(f'"{word}"' for word in shlex.split(data[key]))
        raise KeyProblem(
            key,
            f"the command is one string ({data[key]!r}); ECS needs a list of arguments",
            f"write it as a list of strings: {key} = [{split}]",
        )
    if isinstance(data, dict) and data.get(key) == []:
        raise KeyProblem(
            key, "the command is empty", 'give the program and its arguments, e.g. ["bin/jobs"]'
        )


class ProcessSettings(Section):
    # None for web: its command is the image's (the Dockerfile's CMD) unless given here.
    command: list[str] | None = None
    cpu: int = 256
    memory: int = 512
    desired_count: Annotated[int, Meta(ge=0, le=100)] = 1
    # Fargate Spot: workers that can be stopped with two minutes' notice and resume later.
    spot: bool = False

    def __post_init__(self) -> None:
        if self.cpu not in FARGATE_MEMORY_BY_CPU:
            allowed = ", ".join(str(c) for c in FARGATE_MEMORY_BY_CPU)
            raise KeyProblem(
                "cpu", f"{self.cpu} is not a Fargate CPU size", f"use one of {allowed}"
            )
        if self.memory not in FARGATE_MEMORY_BY_CPU[self.cpu]:
            raise KeyProblem(
                "memory",
                f"Fargate does not accept memory = {self.memory} with cpu = {self.cpu}",
                f"with cpu = {self.cpu}, memory must be {describe_allowed_memory(self.cpu)} (MiB)",
            )


class ScheduleSettings(Section, kw_only=True):
    name: str
    cron: str | None = None
    rate: str | None = None
    timezone: str = "UTC"
    command: list[str]

    def __post_init__(self) -> None:
        if not SCHEDULE_NAME.match(self.name):
            raise KeyProblem(
                "name",
                f"{self.name!r} cannot name a schedule",
                "use 2-32 lowercase letters, digits and hyphens, starting with a letter",
            )
        if (self.cron is None) == (self.rate is None):
            raise KeyProblem(
                "cron",
                f"schedule {self.name!r} needs exactly one of cron and rate",
                'give cron = "0 3 * * *" (daily at 03:00) or rate = "1 hour", not both',
            )
        try:
            self.expression  # noqa: B018 (validates)
        except ExpressionError as exc:
            raise KeyProblem("cron" if self.cron else "rate", exc.problem, exc.fix) from None
        if self.timezone not in _time_zones():
            raise KeyProblem(
                "timezone",
                f"{self.timezone!r} is not a time zone",
                'use an IANA name such as "UTC", "Asia/Tokyo" or "Europe/Paris"',
            )
        _zone(self.timezone)

    @property
    def expression(self) -> str:
        """The schedule expression as EventBridge Scheduler takes it."""
        if self.cron is not None:
            return cron_expression(self.cron)
        return rate_expression(self.rate or "")


class StorageSettings(Section):
    bucket: bool = False
    # The bucket's name; by default `{prefix}-{account}-{region}` (S3 names are global).
    name: str | None = None

    def __post_init__(self) -> None:
        if self.name is not None and not self.bucket:
            raise KeyProblem(
                "name",
                "a bucket name is given but no bucket is asked for",
                "add bucket = true to [storage], or remove the section",
            )
        if self.name is not None and (not BUCKET_NAME.match(self.name) or ".." in self.name):
            raise KeyProblem(
                "name",
                f"{self.name!r} is not an S3 bucket name",
                "use 3-63 lowercase letters, digits, hyphens and dots, starting and ending "
                "with a letter or digit",
            )


@cache
def _time_zones() -> frozenset[str]:
    from zoneinfo import available_timezones  # only a file with [[schedules]] needs it

    return frozenset(available_timezones())


def _zone(name: str) -> None:
    from zoneinfo import ZoneInfo

    ZoneInfo(name)  # a name listed but unreadable raises here, not at the first run


def check_process_names(raw: Any) -> None:
    """Before each process is read: names that make AWS names clash, web given a size, a
    command written as one string (keys relative to [processes])."""
    if not isinstance(raw, dict):
        return  # reported as "expected a table" when the section is read
    for name, body in raw.items():
        _check_process_name(name)
        given = sorted(set(body) - {"command"}) if name == WEB and isinstance(body, dict) else []
        if given:
            raise KeyProblem(
                f"{WEB}.{given[0]}",
                f"web's {given[0]} is set in [service], not [processes.web]",
                f"move it: service.{given[0]} = ... ([processes.web] takes only command)",
            )
    for name, body in raw.items():
        within(name, lambda body=body: _command_list(body))


def check_schedule_commands(raw: Any) -> None:
    """Before the [[schedules]] are read: a command written as one string (keys relative to
    [[schedules]], by index)."""
    for index, body in enumerate(raw if isinstance(raw, list) else []):
        within(str(index), lambda body=body: _command_list(body))


def check_processes(processes: dict[str, ProcessSettings]) -> None:
    """Every process but web says what it runs."""
    for name, settings in processes.items():
        if name != WEB and settings.command is None:
            raise KeyProblem(
                f"{name}.command",
                f"process {name!r} has no command (it would run the web server's again)",
                'give what it runs, e.g. command = ["bin/jobs"] or ["celery", "-A", "app"]',
            )


def _check_process_name(name: str) -> None:
    if not PROCESS_NAME.match(name):
        raise KeyProblem(
            name,
            f"{name!r} cannot name a process",
            "use 2-20 lowercase letters, digits and hyphens, starting with a letter",
        )
    taken = reserved_suffixes()
    if name in taken or name.endswith("-sg") or re.fullmatch(r"db-\d+", name):
        raise KeyProblem(
            name,
            f"a process named {name!r} would be called {{prefix}}-{name}, a name hakobu "
            "already gives another resource",
            'rename it, for example "worker", "jobs" or "sidekiq"',
        )


@cache
def reserved_suffixes() -> frozenset[str]:
    """Every `{prefix}-X` name hakobu gives (the service, the ALB, the DB, ...): the X's."""
    from hakobu.core.names import Names  # names imports config: look it up when checking

    names = Names(prefix="P", container="c")
    suffixes = {
        value.removeprefix("P-")
        for attribute in dir(Names)
        if isinstance(getattr(Names, attribute), property)
        and isinstance(value := getattr(names, attribute), str)
        and value.startswith("P-")
    }
    return frozenset(suffixes | set(OWN_SUFFIXES))


def check_process_environments(env: Environment, environments: dict[str, Any]) -> None:
    """`{app}-{process}` in production is `{app}-{environment}`'s own web family and names."""
    for name in env.settings.processes:
        if name in environments:
            raise ConfigError(
                f"processes.{name}",
                f"a process named {name!r} would share its AWS names with the {name!r} "
                "environment's web service",
                'rename the process, for example "worker" or "jobs"',
            )


def check_schedules(schedules: list[ScheduleSettings]) -> None:
    seen: set[str] = set()
    for index, schedule in enumerate(schedules):
        if schedule.name in seen:
            raise KeyProblem(
                f"{index}.name",
                f"two schedules are named {schedule.name!r}",
                "give every [[schedules]] entry its own name",
            )
        seen.add(schedule.name)


def workers(env: Environment) -> dict[str, ProcessSettings]:
    """The processes beside web, by name, in the file's order."""
    return {name: p for name, p in env.settings.processes.items() if name != WEB}


def web_command(env: Environment) -> list[str] | None:
    web = env.settings.processes.get(WEB)
    return web.command if web else None


def process_warnings(env: Environment) -> list[str]:
    """web's command replacing a different CMD in the Dockerfile is allowed, but said."""
    command = web_command(env)
    if command is None:
        return []
    dockerfile_cmd = _dockerfile_cmd(env)
    if dockerfile_cmd is None or dockerfile_cmd == command:
        return []
    return [
        f"processes.web.command {command} replaces the Dockerfile's CMD {dockerfile_cmd}: "
        "the web service runs the command from hakobu.toml. Remove it from [processes.web] "
        "to keep the Dockerfile's."
    ]


def _dockerfile_cmd(env: Environment) -> list[str] | None:
    import json

    path = env.root / env.settings.deploy.context / env.settings.deploy.dockerfile
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in reversed(lines):  # the last CMD is the one an image keeps
        words = line.strip().split(None, 1)
        if len(words) == 2 and words[0].upper() == "CMD":
            try:
                parsed = json.loads(words[1])
            except ValueError:
                return shlex.split(words[1])
            return [str(word) for word in parsed] if isinstance(parsed, list) else None
    return None
