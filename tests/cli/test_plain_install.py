"""A new user's first minutes: the wheel built from this checkout, installed with no extras
into a new virtualenv that does not see this interpreter's packages, must work.

Every module hakobu imports must be a declared dependency: the test extras (moto pulls
Flask, which pulls click) hide a missing one from every other test. The wheel is built by
pip from a copy of the checkout (no build/ or egg-info left in the tree); its isolated
build environment takes setuptools from the machine's configured package index, since the
installed setuptools is too old for pyproject's build requirement. The dependencies are
then installed with `--no-index` from a wheelhouse packed from this interpreter's own
installed packages: no package index is asked for them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest

from tests.support.wheelhouse import build_wheelhouse

REPO = Path(__file__).resolve().parents[2]
SANDBOX_HINT = "pip install 'hakobu[sandbox]'"


@pytest.fixture(scope="module")
def plain_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `hakobu` script of a fresh virtualenv holding hakobu and only its dependencies."""
    work = tmp_path_factory.mktemp("plain-install")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__"))
    _pip(sys.executable, "wheel", "--no-deps", "--quiet", "-w", str(work / "dist"), str(source))
    (wheel,) = (work / "dist").glob("hakobu-*.whl")

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    build_wheelhouse(project["dependencies"], work / "wheelhouse")
    venv.create(work / "venv", with_pip=True, system_site_packages=False)
    python = work / "venv" / "bin" / "python"
    _pip(str(python), "install", "--no-index", "--find-links", str(work / "wheelhouse"),
         "--quiet", str(wheel))  # fmt: skip
    return work / "venv" / "bin" / "hakobu"


def _pip(python: str, *args: str) -> None:
    done = subprocess.run(
        [python, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"pip {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


def _run(hakobu: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "COLUMNS": "200",
        "NO_COLOR": "1",
        "CHECKPOINT_DISABLE": "1",
    }
    return subprocess.run(
        [str(hakobu), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_plain_install_has_none_of_the_extras(plain_install: Path) -> None:
    python = plain_install.parent / "python"
    for module in ("moto", "flask", "click", "pytest"):
        found = subprocess.run(
            [str(python), "-c", f"import importlib.util as u; print(u.find_spec('{module}'))"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert found.stdout.strip() == "None", f"{module} is installed: {found.stdout}"


def test_version_help_and_init_work_on_a_plain_install(plain_install: Path, tmp_path: Path) -> None:
    version = _run(plain_install, "--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == "hakobu 0.1.0"

    helped = _run(plain_install, "--help", cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert "init" in helped.stdout and "deploy" in helped.stdout

    app = tmp_path / "shop"
    app.mkdir()
    init = _run(plain_install, "init", cwd=app)
    assert init.returncode == 0, init.stdout + init.stderr
    assert (app / "hakobu.toml").is_file()
    assert "Traceback" not in init.stdout + init.stderr


def test_plan_sandbox_on_a_plain_install_names_the_extra(
    plain_install: Path, tmp_path: Path
) -> None:
    app = tmp_path / "shop"
    app.mkdir()
    assert _run(plain_install, "init", cwd=app).returncode == 0

    plan = _run(plain_install, "plan", "--sandbox", cwd=app)

    output = plan.stdout + plan.stderr
    assert plan.returncode == 2, output
    assert "Traceback" not in output
    errors = [line for line in plan.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and SANDBOX_HINT in errors[0], plan.stderr
    assert not (app / ".hakobu" / "sandbox").exists()  # nothing was run or written
