"""Bad [processes], [[schedules]] and [storage] input stops hakobu before Terraform and AWS.

The same checks as tests/cli/test_bad_input.py (a real `python -m hakobu plan` process, a
fake terraform that records calls, an HTTP recorder standing in for every AWS endpoint):
exit 2, one Error line naming the key and one Fix line, no traceback, nothing called.
Cron and rate expressions are refused exactly where EventBridge Scheduler refuses them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hakobu.core.config import parse_project
from tests.cli import test_bad_input as bad

VALID = 'app = "shop"\n'
SCHEDULE = '[[schedules]]\nname = "nightly"\ncommand = ["bin/rails", "runner", "X.run"]\n'

CASES = [
    bad.Case(
        "process-named-like-the-web-service",
        VALID + '[processes.service]\ncommand = ["bin/jobs"]\n',
        ("processes.service: ", "{prefix}-service"),
        ("rename it", '"worker"'),
    ),
    bad.Case(
        "process-named-like-a-security-group",
        VALID + '[processes.db-sg]\ncommand = ["bin/jobs"]\n',
        ("processes.db-sg: ",),
        ("rename it",),
    ),
    bad.Case(
        "process-named-like-an-environment",
        VALID + '[processes.staging]\ncommand = ["bin/jobs"]\n[environments.production]\n'
        "[environments.staging]\n",
        ("processes.staging: ", "'staging' environment"),
        ("rename the process",),
    ),
    bad.Case(
        "process-without-command",
        VALID + "[processes.worker]\ncpu = 512\nmemory = 1024\n",
        ("processes.worker.command: ", "no command"),
        ('["bin/jobs"]',),
    ),
    bad.Case(
        "process-command-as-one-string",
        VALID + '[processes.worker]\ncommand = "bundle exec sidekiq"\n',
        ("processes.worker.command: ", "one string"),
        ('command = ["bundle", "exec", "sidekiq"]',),
    ),
    bad.Case(
        "process-not-a-fargate-size",
        VALID + '[processes.worker]\ncommand = ["bin/jobs"]\ncpu = 256\nmemory = 4096\n',
        ("processes.worker.memory: ", "memory = 4096 with cpu = 256"),
        ("512, 1024, 2048",),
    ),
    bad.Case(
        "web-given-a-size",
        VALID + "[processes.web]\ncpu = 1024\n",
        ("processes.web.cpu: ", "[service]"),
        ("service.cpu",),
    ),
    bad.Case(
        "cron-invalid-minute",
        VALID + SCHEDULE + 'cron = "61 3 * * *"\n',
        ("schedules.0.cron: ", "61 is outside minutes (0-59)"),
        ("from 0 to 59",),
    ),
    bad.Case(
        "cron-numeric-day-of-week",
        VALID + SCHEDULE + 'cron = "0 9 * * 1-5"\n',
        ("schedules.0.cron: ", "Sunday is 0 in cron, 1 in Scheduler"),
        ("MON-FRI",),
    ),
    bad.Case(
        "cron-both-days",
        VALID + SCHEDULE + 'cron = "0 3 1 * MON"\n',
        ("schedules.0.cron: ", "both day-of-month (1) and day-of-week (MON)"),
        ("write * in the other",),
    ),
    bad.Case(
        "cron-six-fields",
        VALID + SCHEDULE + 'cron = "0 3 * * ? *"\n',
        ("schedules.0.cron: ", "six-field"),
        ('"0 3 * * *"',),
    ),
    bad.Case(
        "rate-unit-not-singular",
        VALID + SCHEDULE + 'rate = "1 hours"\n',
        ("schedules.0.rate: ", "singular for 1"),
        ('"1 hour"',),
    ),
    bad.Case(
        "rate-unknown-unit",
        VALID + SCHEDULE + 'rate = "2 weeks"\n',
        ("schedules.0.rate: ", "'weeks'"),
        ("minute(s), hour(s) or day(s)",),
    ),
    bad.Case(
        "schedule-cron-and-rate",
        VALID + SCHEDULE + 'cron = "0 3 * * *"\nrate = "1 day"\n',
        ("schedules.0.cron: ", "exactly one of cron and rate"),
        ("not both",),
    ),
    bad.Case(
        "schedule-unknown-time-zone",
        VALID + SCHEDULE + 'rate = "1 day"\ntimezone = "Tokyo"\n',
        ("schedules.0.timezone: ", "'Tokyo' is not a time zone"),
        ('"Asia/Tokyo"',),
    ),
    bad.Case(
        "schedule-command-not-a-list",
        VALID + '[[schedules]]\nname = "nightly"\nrate = "1 day"\ncommand = "bin/rails runner X"\n',
        ("schedules.0.command: ", "one string"),
        ('command = ["bin/rails", "runner", "X"]',),
    ),
    bad.Case(
        "schedule-command-not-strings",
        VALID + '[[schedules]]\nname = "nightly"\nrate = "1 day"\ncommand = ["bin/x", 3]\n',
        ("schedules.0.command.1: ", "expected a string"),
        ("double quotes",),
    ),
    bad.Case(
        "schedule-names-twice",
        VALID + SCHEDULE + 'rate = "1 day"\n' + SCHEDULE + 'rate = "2 days"\n',
        ("schedules.1.name: ", "two schedules are named 'nightly'"),
        ("its own name",),
    ),
    bad.Case(
        "storage-name-without-bucket",
        VALID + '[storage]\nname = "shop-uploads"\n',
        ("storage.name: ", "no bucket is asked for"),
        ("bucket = true",),
    ),
    bad.Case(
        "storage-unknown-setting",
        VALID + "[storage]\nversioned = false\n",
        ("storage.versioned: ", "unknown key"),
        ("bucket, name",),
    ),
]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bad.Outcome]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            case.id: pool.submit(bad._attempt, case, tmp_path_factory.mktemp(case.id))
            for case in CASES
        }
    return {case_id: future.result() for case_id, future in futures.items()}


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in CASES])
def test_bad_process_input_stops_before_terraform_and_aws(
    case: bad.Case, outcomes: dict[str, bad.Outcome]
) -> None:
    bad.test_bad_input_stops_before_terraform_and_aws(case, outcomes)


def test_the_same_sections_written_right_reach_terraform(tmp_path: Path) -> None:
    """Positive control: the valid form of every section above passes validation."""
    with bad.recording_aws() as aws:
        world = bad._world(tmp_path, aws, "fake")
        (world.root / "hakobu.toml").write_text(
            VALID
            + '[processes.worker]\ncommand = ["bin/jobs"]\n'
            + SCHEDULE
            + 'cron = "0 3 * * MON-FRI"\ntimezone = "Asia/Tokyo"\n'
            + "[storage]\nbucket = true\n",
            encoding="utf-8",
        )
        run = bad._run(world, "plan")
    assert world.record.is_file() and world.record.read_text().startswith("init "), run.output


def test_webs_command_differing_from_the_dockerfile_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text('FROM scratch\nCMD ["bin/rails", "server"]\n')
    raw = {"app": "shop", "processes": {"web": {"command": ["bin/thrust", "bin/rails", "server"]}}}
    [warning] = parse_project(raw, tmp_path).environment(None).warnings
    assert "replaces the Dockerfile's CMD ['bin/rails', 'server']" in warning
    same = {"app": "shop", "processes": {"web": {"command": ["bin/rails", "server"]}}}
    assert parse_project(same, tmp_path).environment(None).warnings == []


WITH_WORKER = VALID + '[processes.worker]\ncommand = ["bin/jobs"]\n'


@pytest.mark.parametrize(
    "args",
    [
        ("logs", "--process", "sidekiq"),
        ("exec", "--process", "sidekiq", "--", "true"),
        ("scale", "sidekiq=2"),
        ("scale", "=2"),
        ("scale", "worker=many"),
    ],
    ids=["logs", "exec", "scale", "scale-no-name", "scale-bad-count"],
)
def test_an_unknown_process_in_an_option_stops_before_aws(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    """`--process NAME` and `scale NAME=COUNT` name web or a [processes.NAME]; anything else
    is one Error/Fix pair, exit 2, and neither AWS nor Terraform nor the sandbox is touched."""
    with bad.recording_aws() as aws:
        world = bad._world(tmp_path, aws, "fake")
        (world.root / "hakobu.toml").write_text(WITH_WORKER, encoding="utf-8")
        before = (world.root / "hakobu.toml").read_text()
        run = bad._run(world, *args)
        assert run.code == 2, run.output
        errors = [line for line in run.stderr.splitlines() if line.startswith("Error: ")]
        fixes = [line for line in run.stderr.splitlines() if line.startswith("Fix: ")]
        assert len(errors) == 1 and len(fixes) == 1 and "Traceback" not in run.output, run.stderr
        if "sidekiq" in " ".join(args):
            assert "no process named 'sidekiq'" in errors[0], run.stderr
            assert "web, worker" in fixes[0], run.stderr
        assert aws.requests == [], aws.requests
    assert not world.record.exists() and not (world.root / ".hakobu").exists()
    assert (world.root / "hakobu.toml").read_text() == before
