"""`hakobu scale`: the count checked before any call, the hakobu.toml edit as exact text
(comments kept, the environment's own section), and the ECS calls with botocore's Stubber."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from hakobu.core.config import load_project, parse_project
from hakobu.core.errors import ConfigError, HakobuError, InvalidArgument
from hakobu.operate.scaling import (
    MAX_COUNT,
    MIN_COUNT,
    check_edit,
    parse_count,
    parse_target,
    scale,
    set_desired_count,
    update_request,
)
from hakobu.provision.scaffold import Detected, render_config
from tests.conftest import make_rails_app, run_hakobu
from tests.support.stubbed_aws import CLUSTER, SERVICE, StubbedAws, service_response

GENERATED = render_config(
    "rails-app", Detected("rails", 3000, "/up", "MYAPP_DATABASE_PASSWORD", "test", "myapp")
)
TWO_ENVIRONMENTS = """\
app = "rails-app"

[service]
desired_count = 1   # the shared default

[environments.production]
region = "ap-northeast-1"   # Tokyo
service.desired_count = 2  # two for the launch

# Staging is small.
[environments.staging]
database.instance_class = "db.t4g.micro"
"""


def added_lines(before: str, after: str) -> list[str]:
    """The lines of `after` that are not in `before`, asserting nothing was removed."""
    old, new = before.splitlines(), after.splitlines()
    remaining = list(new)
    for line in old:
        assert line in remaining, f"line lost: {line!r}"
        remaining.remove(line)
    return remaining


def desired_counts(text: str) -> dict[str, int]:
    project = parse_project(tomllib.loads(text), Path("."))
    return {name: env.settings.service.desired_count for name, env in project.environments.items()}


# --- COUNT --------------------------------------------------------------------------------


@pytest.mark.parametrize("text, count", [("0", 0), ("3", 3), (" 100 ", 100), (7, 7)])
def test_count_accepts_0_to_100(text: str | int, count: int) -> None:
    assert parse_count(text) == count


@pytest.mark.parametrize("text", ["101", "-1", "1.5", "three", "", "0x10"])
def test_count_refuses_the_rest_with_exit_code_2(text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_count(text)
    assert caught.value.exit_code == 2
    assert "0 to 100" in str(caught.value.fix)


def test_count_bounds_are_the_config_schemas() -> None:
    # hakobu.toml must accept every count scale writes, and scale nothing it would refuse.
    assert (MIN_COUNT, MAX_COUNT) == (0, 100)

    def count_file(count: int) -> dict[str, object]:
        return {"app": "shop", "service": {"desired_count": count}}

    for count in (MIN_COUNT, MAX_COUNT):
        parse_project(count_file(count), Path("."))
    for count in (MIN_COUNT - 1, MAX_COUNT + 1):
        with pytest.raises(ConfigError) as caught:
            parse_project(count_file(count), Path("."))
        assert caught.value.key == "service.desired_count"


def test_update_request_changes_only_the_count() -> None:
    assert update_request(CLUSTER, SERVICE, 3) == {
        "cluster": CLUSTER,
        "service": SERVICE,
        "desiredCount": 3,
    }


# --- the hakobu.toml edit -------------------------------------------------------------------


def test_generated_file_gets_one_line_under_its_environment_header() -> None:
    edit = set_desired_count(GENERATED, "production", 3)
    assert edit.key == "environments.production.service.desired_count"
    assert added_lines(GENERATED, edit.text) == ["service.desired_count = 3"]
    lines = edit.text.splitlines()
    # Right under the header, above the commented-out [environments.staging] example.
    header = lines.index("[environments.production]")
    assert lines[header + 1] == "service.desired_count = 3"
    assert lines.index("# [environments.staging]") > header + 1
    assert desired_counts(edit.text) == {"production": 3}


def shared_service_table(text: str) -> str:
    return text.split("\n[service]\n", 1)[1].split("\n[", 1)[0]


def test_the_shared_service_table_is_left_alone() -> None:
    # A shared value would scale every environment that does not set its own.
    edit = set_desired_count(GENERATED, "production", 3)
    assert shared_service_table(edit.text) == shared_service_table(GENERATED)


def test_an_existing_value_is_replaced_in_place_with_its_comment() -> None:
    edit = set_desired_count(TWO_ENVIRONMENTS, "production", 5)
    assert edit.text == TWO_ENVIRONMENTS.replace(
        "service.desired_count = 2  # two for the launch",
        "service.desired_count = 5  # two for the launch",
    )
    assert desired_counts(edit.text) == {"production": 5, "staging": 1}


def test_scaling_staging_touches_only_staging() -> None:
    edit = set_desired_count(TWO_ENVIRONMENTS, "staging", 4)
    assert added_lines(TWO_ENVIRONMENTS, edit.text) == ["service.desired_count = 4"]
    assert edit.text.endswith(
        '[environments.staging]\ndatabase.instance_class = "db.t4g.micro"\n'
        "service.desired_count = 4\n"
    )
    assert desired_counts(edit.text) == {"production": 2, "staging": 4}


def test_the_same_count_changes_nothing() -> None:
    edit = set_desired_count(TWO_ENVIRONMENTS, "production", 2)
    assert (edit.text, edit.key) == (TWO_ENVIRONMENTS, None)


def test_a_file_without_environments_gets_a_production_section() -> None:
    text = 'app = "rails-app"\n\n[service]\ndesired_count = 1  # one\n'
    edit = set_desired_count(text, "production", 2)
    assert edit.text == text + "\n[environments.production]\nservice.desired_count = 2\n"
    assert desired_counts(edit.text) == {"production": 2}


def test_a_service_sub_table_is_written_into() -> None:
    text = 'app = "rails-app"\n\n[environments.production.service]\ncpu = 512\nmemory = 1024\n'
    edit = set_desired_count(text, "production", 6)
    assert edit.text == text + "desired_count = 6\n"


def test_a_section_with_only_sub_tables_gets_a_service_sub_table() -> None:
    # A dotted key there would land in [environments.production.database].
    text = (
        'app = "rails-app"\n\n[environments.production.database]\n'
        'instance_class = "db.t4g.small"\n\n[environments.staging]\n'
    )
    edit = set_desired_count(text, "production", 2)
    added = ["[environments.production.service]", "desired_count = 2", ""]
    assert added_lines(text, edit.text) == added
    assert desired_counts(edit.text) == {"production": 2, "staging": 1}


def test_an_inline_environment_table_stays_inline() -> None:
    text = 'app = "rails-app"\n[environments]\nproduction = { name = "shop" }\n'
    edit = set_desired_count(text, "production", 2)
    assert desired_counts(edit.text) == {"production": 2}
    assert edit.text.count("\n") == text.count("\n")


def test_check_edit_refuses_an_edit_that_changes_another_environment() -> None:
    wrong = TWO_ENVIRONMENTS.replace(
        'database.instance_class = "db.t4g.micro"', 'database.instance_class = "db.t4g.small"'
    )
    with pytest.raises(HakobuError, match="by hand"):
        check_edit(TWO_ENVIRONMENTS, wrong, "production", 2, Path("."))
    check_edit(TWO_ENVIRONMENTS, TWO_ENVIRONMENTS, "production", 2, Path("."))


# --- the executor, with the Stubber --------------------------------------------------------


def _described(count: int) -> dict[str, object]:
    return service_response([], desiredCount=count)


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    return make_rails_app(tmp_path / "rails-app")


def test_scale_updates_the_service_then_records_the_count(app_dir: Path) -> None:
    config = app_dir / "hakobu.toml"
    before = config.read_text()
    env = load_project(config).environment(None)
    aws = StubbedAws()
    ecs = aws.stub("ecs")
    described = {"cluster": CLUSTER, "services": [SERVICE]}
    ecs.add_response("describe_services", _described(1), described)
    ecs.add_response("update_service", {"service": {}}, update_request(CLUSTER, SERVICE, 3))
    result = scale(env, aws, 3, config)  # type: ignore[arg-type]
    aws.verify()
    assert (result.previous, result.desired) == (1, 3)
    assert added_lines(before, config.read_text()) == ["service.desired_count = 3"]
    assert load_project(config).environment(None).settings.service.desired_count == 3


def test_scale_to_the_running_count_only_records_it(app_dir: Path) -> None:
    config = app_dir / "hakobu.toml"
    env = load_project(config).environment(None)
    aws = StubbedAws()
    aws.stub("ecs").add_response("describe_services", _described(2))
    result = scale(env, aws, 2, config)  # type: ignore[arg-type]
    aws.verify()  # no update_service: it already runs 2
    assert result.config_key == "environments.production.service.desired_count"


def test_a_bad_count_calls_nothing_and_writes_nothing(app_dir: Path) -> None:
    config = app_dir / "hakobu.toml"
    before = config.read_text()
    env = load_project(config).environment(None)
    aws = StubbedAws()
    aws.stub("ecs")  # no expected calls: any call would fail the Stubber
    with pytest.raises(InvalidArgument):
        scale(env, aws, 101, config)  # type: ignore[arg-type]
    assert config.read_text() == before


def test_a_file_changed_meanwhile_is_not_overwritten(app_dir: Path) -> None:
    config = app_dir / "hakobu.toml"
    env = load_project(config).environment(None)
    aws = StubbedAws()
    ecs = aws.stub("ecs")
    ecs.add_response("describe_services", _described(1))

    def edited_meanwhile(**_: object) -> None:
        config.write_text(config.read_text() + "# a teammate's edit\n")

    ecs.add_response("update_service", {"service": {}})
    aws.client("ecs").meta.events.register(
        "before-parameter-build.ecs.UpdateService", edited_meanwhile
    )
    with pytest.raises(HakobuError, match="changed while hakobu ran") as caught:
        scale(env, aws, 3, config)  # type: ignore[arg-type]
    assert "environments.production.service.desired_count = 3" in str(caught.value.fix)
    assert config.read_text().endswith("# a teammate's edit\n")


# --- a process beside web: `scale worker=3` ----------------------------------------------

WITH_WORKER = GENERATED + '\n[processes.worker]\ncommand = ["bin/jobs"]\ndesired_count = 1\n'


def worker_counts(text: str) -> dict[str, tuple[int, int]]:
    """Per environment: (web's count, the worker's count)."""
    project = parse_project(tomllib.loads(text), Path("."))
    return {
        name: (env.settings.service.desired_count, env.settings.processes["worker"].desired_count)
        for name, env in project.environments.items()
    }


@pytest.mark.parametrize(
    ("text", "target"),
    [("3", ("web", 3)), ("worker=3", ("worker", 3)), (" jobs = 0", ("jobs", 0))],
)
def test_a_target_is_a_count_or_process_equals_count(text: str, target: tuple[str, int]) -> None:
    assert parse_target(text) == target


@pytest.mark.parametrize("text", ["=3", "worker=", "worker=three", "worker=101"])
def test_a_bad_target_is_refused_with_exit_code_2(text: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_target(text)
    assert raised.value.exit_code == 2


def test_a_worker_count_goes_under_the_environment_header_not_the_shared_table() -> None:
    edit = set_desired_count(WITH_WORKER, "production", 3, "worker")
    assert edit.key == "environments.production.processes.worker.desired_count"
    assert added_lines(WITH_WORKER, edit.text) == ["processes.worker.desired_count = 3"]
    after = edit.text.splitlines()
    header = after.index("[environments.production]")
    assert (
        header
        < after.index("processes.worker.desired_count = 3")
        < after.index("[processes.worker]")
    )
    assert worker_counts(edit.text) == {"production": (1, 3)}  # web's is unchanged
    check_edit(WITH_WORKER, edit.text, "production", 3, Path("."), "worker")


def test_a_worker_count_already_recorded_is_replaced_in_place() -> None:
    text = set_desired_count(WITH_WORKER, "production", 3, "worker").text
    edit = set_desired_count(text, "production", 5, "worker")
    assert edit.text == text.replace(
        "processes.worker.desired_count = 3", "processes.worker.desired_count = 5"
    )
    assert worker_counts(edit.text) == {"production": (1, 5)}
    assert set_desired_count(edit.text, "production", 5, "worker").key is None


def test_a_worker_count_in_an_inline_environment_table_stays_inline() -> None:
    inline = 'app = "inline-app"\n\n[processes.worker]\ncommand = ["bin/jobs"]\n\n[environments]\n'
    inline += 'production = { region = "ap-northeast-1" }\n'
    edit = set_desired_count(inline, "production", 2, "worker")
    assert "production = { region = " in edit.text
    assert "processes = {worker = {desired_count = 2}}" in edit.text.replace(" }", "}"), edit.text
    assert worker_counts(edit.text) == {"production": (1, 2)}


def test_scaling_an_unknown_process_calls_nothing_and_writes_nothing(app_dir: Path) -> None:
    config = app_dir / "hakobu.toml"
    before = config.read_text()
    env = load_project(config).environment(None)
    aws = StubbedAws()
    aws.stub("ecs")  # no expected calls: any call would fail the Stubber
    with pytest.raises(InvalidArgument, match="no process named 'worker'"):
        scale(env, aws, 2, config, "worker")  # type: ignore[arg-type]
    assert config.read_text() == before


def test_cli_refuses_an_unknown_process_before_any_call(app_dir: Path, tmp_path: Path) -> None:
    dead_aws = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "hakobu-test-scale-key-id",
        "AWS_SECRET_ACCESS_KEY": "dummy",
        "HOME": str(tmp_path),
    }
    before = (app_dir / "hakobu.toml").read_text()
    run = run_hakobu("scale", "sidekiq=2", cwd=app_dir, env=dead_aws)
    assert run.code == 2, run.output
    assert run.stderr.startswith("Error: no process named 'sidekiq'"), run.stderr
    assert "Fix: scale one of: web" in run.stderr and "Traceback" not in run.output
    assert (app_dir / "hakobu.toml").read_text() == before
