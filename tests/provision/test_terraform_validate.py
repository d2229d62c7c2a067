"""The rendered document is valid Terraform for the real `hashicorp/aws` provider.

Runs the real `terraform` CLI: `init` then `validate`, offline. When this machine has a
provider mirror (`hakobu.provision.terraform.find_provider_mirror`: $HAKOBU_PROVIDER_MIRROR or the
usual plugin directories), init must take the provider from it and download nothing: every
HTTP(S) request is sent to a dead proxy on loopback, so an attempted download fails init.
Without a mirror, init fetches the provider as usual (and fails loudly with no network).
About 4 s per test, most of it the provider's schema load in `validate`.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from hakobu.core.config import Environment, load_project
from hakobu.provision.blueprint import render
from hakobu.provision.scaffold import write_config
from hakobu.provision.terraform import AWS_PROVIDER, Terraform, find_provider_mirror
from tests.conftest import environment_of, make_rails_app

TERRAFORM = shutil.which("terraform")
# Nothing listens on the discard port: a request through this proxy fails at once.
DEAD_PROXY = "http://127.0.0.1:9"
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(TERRAFORM is None, reason="the terraform CLI is not on PATH"),
]


# --- The apps -------------------------------------------------------------------------------


def rails_app(root: Path) -> Environment:
    make_rails_app(root)
    return load_project(root / "hakobu.toml").environment(None)


def django_app(root: Path) -> Environment:
    root.mkdir(parents=True)
    (root / "manage.py").write_text("#!/usr/bin/env python\nimport django\n")
    write_config(root, "blog")
    return load_project(root / "hakobu.toml").environment(None)


APPS: dict[str, tuple[str, Callable[[Path], Environment]]] = {
    "rails": ("rails", rails_app),
    "django": ("django", django_app),
}


# --- Terraform helpers ------------------------------------------------------------------------


def offline_terraform(workdir: Path) -> Terraform:
    """The driver hakobu uses; with a mirror, any network request fails instead of downloading."""
    assert TERRAFORM is not None
    if find_provider_mirror() is None:
        return Terraform(workdir=workdir, engine=TERRAFORM)
    return Terraform(
        workdir=workdir,
        engine=TERRAFORM,
        environment=dict.fromkeys(PROXY_VARIABLES, DEAD_PROXY),
        unset=("NO_PROXY", "no_proxy"),
    )


def initialized(workdir: Path, document: dict[str, object]) -> Terraform:
    terraform = offline_terraform(workdir)
    terraform.write_document(document)
    terraform.init()
    return terraform


def errors(diagnostics: list[dict[str, object]]) -> list[str]:
    return [
        f"{d.get('address') or ''}: {d['summary']} {d.get('detail') or ''}".strip()
        for d in diagnostics
        if d["severity"] == "error"
    ]


def terraform_platform() -> str:
    """`linux_amd64` style: the directory name Terraform installs the provider under."""
    assert TERRAFORM is not None
    result = subprocess.run(
        [TERRAFORM, "version", "-json"],
        capture_output=True,
        text=True,
        check=True,
        env={"CHECKPOINT_DISABLE": "1", "PATH": ""},
    )
    return json.loads(result.stdout)["platform"]


def locked_provider(workdir: Path) -> tuple[str, list[str]]:
    """(version, hashes) of hashicorp/aws in the dependency lock file init wrote."""
    lock = (workdir / ".terraform.lock.hcl").read_text()
    block = re.search(r'provider "' + re.escape(AWS_PROVIDER) + r'" \{(.*?)\n\}', lock, re.S)
    assert block, f"hashicorp/aws is not in the lock file:\n{lock}"
    version = re.search(r'^\s*version\s*=\s*"([^"]+)"', block.group(1), re.M)
    assert version, block.group(0)
    return version.group(1), re.findall(r'"((?:h1|zh):[^"]+)"', block.group(1))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_provider_came_from_the_mirror(workdir: Path, mirror: Path) -> None:
    version, hashes = locked_provider(workdir)
    platform = terraform_platform()
    installed = workdir / ".terraform" / "providers" / AWS_PROVIDER / version / platform
    assert installed.is_dir(), f"init installed no provider at {installed}"
    mirrored = mirror / AWS_PROVIDER
    # Only the registry's signed SHA256SUMS give `zh:` hashes; a mirror gives `h1:` alone.
    assert hashes and all(h.startswith("h1:") for h in hashes), hashes
    unpacked = mirrored / version / platform
    if unpacked.is_dir():
        if installed.is_symlink():
            assert installed.resolve() == unpacked.resolve()
        else:  # a copy of the unpacked directory
            assert {p.name: sha256(p.read_bytes()) for p in installed.iterdir()} == {
                p.name: sha256(p.read_bytes()) for p in unpacked.iterdir()
            }
    else:  # packed layout: the zip Terraform extracted
        archive = mirrored / f"terraform-provider-aws_{version}_{platform}.zip"
        assert archive.is_file(), f"{version} for {platform} is not in the mirror {mirror}"
        with zipfile.ZipFile(archive) as packed:
            assert {p.name: sha256(p.read_bytes()) for p in installed.iterdir()} == {
                name: sha256(packed.read(name)) for name in packed.namelist()
            }


# --- Tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("app", sorted(APPS))
def test_rendered_configuration_is_valid_terraform(app: str, tmp_path: Path) -> None:
    framework, make = APPS[app]
    env = make(tmp_path / "app")
    assert env.framework == framework
    terraform = initialized(tmp_path / "terraform", render(env))

    version, _ = locked_provider(terraform.workdir)
    mirror = find_provider_mirror()
    if mirror is not None:
        assert_provider_came_from_the_mirror(terraform.workdir, mirror)
    else:
        # Downloaded from the registry (a machine with network and no mirror).
        assert re.fullmatch(r"[56]\.\d+\.\d+", version), version

    diagnostics = terraform.validate()
    assert errors(diagnostics) == []


def test_validate_reports_what_the_provider_rejects(tmp_path: Path) -> None:
    """The check above can fail: a name AWS would refuse is an error diagnostic."""
    document = render(rails_app(tmp_path / "app"))
    document["resource"]["aws_lb"]["main"]["name"] = "x" * 33
    terraform = initialized(tmp_path / "terraform", document)
    found = errors(terraform.validate())
    assert len(found) == 1 and found[0].startswith("aws_lb.main:"), found
    assert "32 characters" in found[0]


@pytest.mark.parametrize(
    "raw",
    [{"profile": "lean"}, {"profile": "ha"}, {"service": {"spot": True, "spot_base": 1}}],
    ids=["lean", "ha", "spot"],
)
def test_every_profile_is_valid_terraform(raw: dict[str, object], tmp_path: Path) -> None:
    env = environment_of({"app": "rails-app", "framework": "container", **raw})
    terraform = initialized(tmp_path / "terraform", render(env))
    assert errors(terraform.validate()) == []


@pytest.mark.parametrize("engine", ["postgres", "aurora-mysql", "aurora-postgresql"])
def test_every_engine_in_every_profile_is_valid_terraform(engine: str, tmp_path: Path) -> None:
    """One init per engine; each profile's document is then validated in the same workdir."""
    found = {}
    terraform = None
    for profile in (None, "guide", "lean", "ha"):
        raw: dict[str, object] = {"app": "rails-app", "framework": "rails"}
        raw["database"] = {"engine": engine}
        if profile:
            raw["profile"] = profile
        document = render(environment_of(raw))
        if terraform is None:
            terraform = initialized(tmp_path / "terraform", document)
        else:
            terraform.write_document(document)
        found[profile or "default"] = errors(terraform.validate())
    assert found == {"default": [], "guide": [], "lean": [], "ha": []}


def test_validate_reports_an_aurora_setting_the_provider_rejects(tmp_path: Path) -> None:
    """The check above can fail for the cluster too: a capacity the provider refuses."""
    document = render(environment_of({"app": "rails-app", "database": {"engine": "aurora-mysql"}}))
    cluster = document["resource"]["aws_rds_cluster"]["main"]
    cluster["serverlessv2_scaling_configuration"]["seconds_until_auto_pause"] = 10
    terraform = initialized(tmp_path / "terraform", document)
    found = errors(terraform.validate())
    assert len(found) == 1 and found[0].startswith("aws_rds_cluster.main:"), found
