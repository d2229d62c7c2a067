"""`hakobu init` with a Procfile: its other lines become [processes.NAME] that validate."""

from __future__ import annotations

from pathlib import Path

from hakobu.core.config import load_project
from hakobu.provision.procfile import init_notes
from hakobu.provision.scaffold import write_config
from tests.conftest import make_rails_app

PROCFILE = """\
web: bundle exec puma -C config/puma.rb
worker: bundle exec sidekiq -q "default"
# a comment
release: bin/rails db:migrate
clock_work: bin/clock --every $INTERVAL
service: bin/other
"""


def test_procfile_lines_become_processes_beside_web(tmp_path: Path) -> None:
    make_rails_app(tmp_path, app="shop")
    (tmp_path / "Procfile").write_text(PROCFILE)
    path, detected = write_config(tmp_path, "shop", force=True)
    processes = load_project(path).environment(None).settings.processes
    assert {name: p.command for name, p in processes.items()} == {
        "worker": ["bundle", "exec", "sidekiq", "-q", "default"],
        # Shell syntax runs through sh -c, as a Procfile's line would.
        "clock-work": ["sh", "-c", "bin/clock --every $INTERVAL"],
    }
    assert all((p.cpu, p.memory, p.desired_count) == (256, 512, 1) for p in processes.values())
    [found] = init_notes(detected.procfile)
    assert found.startswith("Procfile: [processes.worker], [processes.clock-work];")
    assert 'release: set deploy.release_command = "bin/rails db:migrate"' in found
    assert "service: skipped" in found


def test_without_a_procfile_init_writes_no_process(tmp_path: Path) -> None:
    make_rails_app(tmp_path, app="shop")
    path, detected = write_config(tmp_path, "shop", force=True)
    assert load_project(path).environment(None).settings.processes == {}
    assert init_notes(detected.procfile) == []
    assert "# [processes.worker]" in path.read_text()
