"""Image build and push, without a registry: the commands as exact argument lists, the tag
rules on real git repositories, `build_and_push` driving a fake builder executable (a
script that records its argv and stdin), and `ecr_login` decoding with botocore's Stubber
(the real ECR cannot be called here; moto's token format is checked in the integration
test). About 2 s.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from hakobu.core.errors import HakobuError, PreflightError
from hakobu.ship.git import SourceRevision, source_revision
from hakobu.ship.image import (
    Builder,
    PushedImage,
    RegistryLogin,
    build_and_push,
    build_command,
    docker_push_digest,
    ecr_login,
    find_builder,
    inspect_digest_command,
    is_loopback,
    login_command,
    push_command,
    registry_host,
    repo_digest,
)

ECR = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"
LOCAL = "127.0.0.1:5000"
PASSWORD = "eyJwYXlsb2FkIjoi-not-a-real-token"
DIGEST = "sha256:" + "ab" * 32
CTX = Path("/app")
DOCKERFILE = Path("/app/Dockerfile")
AUTH = Path("/tmp/h/auth.json")

DOCKER = Builder("docker", "/usr/bin/docker")
BUILDX = Builder("docker", "/usr/bin/docker", buildx=True)
PODMAN = Builder("podman", "/usr/bin/podman")
BUILDAH = Builder("buildah", "/usr/bin/buildah")
BUILDAH_VFS = Builder("buildah", "/usr/bin/buildah", vfs=True)


# --- commands as data ---------------------------------------------------------------------


def test_build_commands() -> None:
    images = [f"{ECR}/rails-app:abc", f"{ECR}/rails-app:rel"]
    tags = ["-t", images[0], "-t", images[1]]
    common = ["--platform", "linux/amd64", *tags, "-f", "/app/Dockerfile"]
    build = build_command
    assert build(BUILDX, CTX, images, "linux/amd64", DOCKERFILE) == [
        "/usr/bin/docker", "buildx", "build", *common, "--load", "/app",
    ]  # fmt: skip
    assert build(DOCKER, CTX, images, "linux/amd64", DOCKERFILE) == [
        "/usr/bin/docker", "build", *common, "/app",
    ]  # fmt: skip
    assert build(PODMAN, CTX, images, "linux/amd64", DOCKERFILE) == [
        "/usr/bin/podman", "build", "--format", "docker", *common, "/app",
    ]  # fmt: skip
    assert build(BUILDAH, CTX, images, "linux/amd64", DOCKERFILE) == [
        "/usr/bin/buildah", "bud", "--format", "docker", *common, "/app",
    ]  # fmt: skip
    assert build(BUILDAH_VFS, CTX, images[:1], "linux/arm64", DOCKERFILE) == [
        "/usr/bin/buildah", "--storage-driver", "vfs", "bud", "--isolation", "chroot",
        "--format", "docker", "--platform", "linux/arm64", "-t", images[0],
        "-f", "/app/Dockerfile", "/app",
    ]  # fmt: skip


def test_login_commands_take_the_password_on_stdin_only() -> None:
    ecr = RegistryLogin(ECR, "AWS", PASSWORD)
    local = RegistryLogin(LOCAL, "AWS", PASSWORD)
    user = ["--username", "AWS", "--password-stdin"]
    assert login_command(DOCKER, ecr, None) == ["/usr/bin/docker", "login", *user, ECR]
    assert login_command(DOCKER, local, AUTH) == ["/usr/bin/docker", "login", *user, LOCAL]
    assert login_command(PODMAN, ecr, AUTH) == [
        "/usr/bin/podman", "login", "--authfile", "/tmp/h/auth.json", *user, ECR,
    ]  # fmt: skip
    assert login_command(BUILDAH_VFS, local, AUTH) == [
        "/usr/bin/buildah", "login", "--authfile", "/tmp/h/auth.json", "--tls-verify=false",
        *user, LOCAL,
    ]  # fmt: skip
    for builder in (DOCKER, PODMAN, BUILDAH):
        assert not any(PASSWORD in arg for arg in login_command(builder, local, AUTH))


def test_push_commands() -> None:
    digest = Path("/tmp/h/digest")
    ecr_image, local_image = f"{ECR}/rails-app:abc", f"{LOCAL}/rails-app:abc"
    assert push_command(DOCKER, ecr_image, None, None) == ["/usr/bin/docker", "push", ecr_image]
    assert push_command(PODMAN, ecr_image, digest, AUTH) == [
        "/usr/bin/podman", "push", "--authfile", "/tmp/h/auth.json",
        "--digestfile", "/tmp/h/digest", ecr_image,
    ]  # fmt: skip
    assert push_command(BUILDAH_VFS, local_image, digest, AUTH) == [
        "/usr/bin/buildah", "--storage-driver", "vfs", "push", "--authfile", "/tmp/h/auth.json",
        "--tls-verify=false", "--digestfile", "/tmp/h/digest", local_image,
    ]  # fmt: skip
    assert inspect_digest_command(DOCKER, ecr_image) == [
        "/usr/bin/docker", "image", "inspect", "--format", "{{json .RepoDigests}}", ecr_image,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("registry", "loopback"),
    [
        ("127.0.0.1:5000", True),
        ("127.1.2.3", True),
        ("localhost:5000", True),
        ("[::1]:5000", True),
        (ECR, False),
        ("10.0.0.1:5000", False),
        ("localhost.example.com", False),
    ],
)
def test_only_loopback_registries_skip_tls(registry: str, loopback: bool) -> None:
    assert is_loopback(registry) is loopback


def test_registry_host_and_digest_parsing() -> None:
    assert registry_host(f"https://{ECR}") == ECR
    assert registry_host("http://127.0.0.1:5000/") == LOCAL
    out = ["The push refers to repository [x/rails-app]", f"abc: digest: {DIGEST} size: 528"]
    assert docker_push_digest(out) == DIGEST
    assert docker_push_digest(["Writing manifest to image destination"]) is None
    repo = f"{ECR}/rails-app"
    inspected = [json.dumps([f"other/app@sha256:{'0' * 64}", f"{repo}@{DIGEST}"])]
    assert repo_digest(inspected, repo) == DIGEST
    assert repo_digest(["[]"], repo) is None


def test_results_pin_the_digest_and_hide_the_password() -> None:
    pushed = PushedImage(f"{ECR}/rails-app", ("abc",), DIGEST)
    assert pushed.uri == f"{ECR}/rails-app@{DIGEST}"
    login = RegistryLogin(ECR, "AWS", PASSWORD)
    assert PASSWORD not in repr(login) and PASSWORD not in str(login)


# --- ecr_login, with botocore's Stubber ----------------------------------------------------


def _ecr_stubbed(token: str | None = None, error: str | None = None) -> tuple[Any, Stubber]:
    client = boto3.client(
        "ecr", region_name="ap-northeast-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    stub = Stubber(client)
    if error:
        stub.add_client_error("get_authorization_token", error, "denied")
    else:
        data = {
            "authorizationToken": token,
            "proxyEndpoint": f"https://{ECR}",
            "expiresAt": datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC),
        }
        stub.add_response("get_authorization_token", {"authorizationData": [data]}, {})
    stub.activate()
    return client, stub


def _token(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_ecr_login_decodes_the_token_stubber() -> None:
    client, stub = _ecr_stubbed(_token(f"AWS:{PASSWORD}"))
    assert ecr_login(client) == RegistryLogin(ECR, "AWS", PASSWORD)
    stub.assert_no_pending_responses()


def test_ecr_login_keeps_the_token_for_another_registry_stubber() -> None:
    # The password may itself contain ':' — only the first one separates the user.
    client, stub = _ecr_stubbed(_token("AWS:pa:ss"))
    assert ecr_login(client, registry=LOCAL) == RegistryLogin(LOCAL, "AWS", "pa:ss")
    stub.assert_no_pending_responses()


def test_ecr_login_rejects_a_malformed_token_without_echoing_it_stubber() -> None:
    token = _token("no-separator-here")
    client, _ = _ecr_stubbed(token)
    with pytest.raises(HakobuError) as error:
        ecr_login(client)
    assert token not in str(error.value) and "no-separator-here" not in str(error.value)


def test_ecr_login_explains_an_access_denied_stubber() -> None:
    client, _ = _ecr_stubbed(error="AccessDeniedException")
    with pytest.raises(HakobuError, match="may not do GetAuthorizationToken"):
        ecr_login(client)


# --- finding a builder (fake executables on PATH) ------------------------------------------


def _exe(directory: Path, name: str, script: str) -> Path:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", str(directory))
    monkeypatch.delenv("HAKOBU_BUILDAH_VFS", raising=False)
    return directory


def test_docker_without_a_daemon_is_skipped(bin_dir: Path) -> None:
    _exe(bin_dir, "docker", 'echo "Cannot connect to the Docker daemon" >&2; exit 1')
    buildah = _exe(bin_dir, "buildah", "exit 0")
    assert find_builder() == Builder("buildah", str(buildah))
    with pytest.raises(PreflightError, match="no Docker daemon answered"):
        find_builder("docker")


def test_docker_with_a_daemon_comes_first(bin_dir: Path) -> None:
    docker = _exe(bin_dir, "docker", 'echo "Docker version 28"')  # info, buildx: exit 0
    _exe(bin_dir, "podman", "exit 0")
    assert find_builder() == Builder("docker", str(docker), buildx=True)


def test_podman_docker_shim_is_podman(bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shim = _exe(bin_dir, "docker", 'echo "podman version 4.3.1"')
    monkeypatch.setenv("HAKOBU_BUILDAH_VFS", "1")
    assert find_builder() == Builder("podman", str(shim), vfs=True)


def test_no_builder_says_how_to_install_one(bin_dir: Path) -> None:
    with pytest.raises(PreflightError) as error:
        find_builder()
    assert "Docker Desktop" in str(error.value) and "brew install podman" in str(error.value)
    assert error.value.exit_code == 2
    with pytest.raises(PreflightError, match="use one of: docker, podman, buildah"):
        find_builder("kaniko")


# --- build_and_push with a fake builder -----------------------------------------------------

FAKE = """\
import json, os, sys
args = sys.argv[1:]
verb = next(a for a in args if a in ("bud", "build", "login", "push", "inspect"))
stdin = sys.stdin.read() if verb == "login" else None
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({"argv": args, "stdin": stdin}) + "\\n")
print(f"{verb}: working")
if os.environ.get("FAKE_FAIL") == verb:
    print(f"{verb}: refused for {stdin}")  # a builder that echoes its input
    sys.exit(3)
image = args[-1]
digest = "sha256:" + ("cd" if os.environ.get("FAKE_SPLIT") and image.endswith(":b") else "ab") * 32
if verb == "push" and "--digestfile" in args:
    open(args[args.index("--digestfile") + 1], "w").write(digest + "\\n")
elif verb == "push" and not os.environ.get("FAKE_QUIET"):
    print(f"{image.rsplit(':', 1)[1]}: digest: {digest} size: 528")
elif verb == "inspect":
    print(json.dumps([image.rsplit(":", 1)[0] + "@" + digest]))
"""


@pytest.fixture
def context(tmp_path: Path) -> Path:
    app = tmp_path / "ctx"
    app.mkdir()
    (app / "Dockerfile").write_text("FROM scratch\n")
    return app


@pytest.fixture
def fake(tmp_path: Path, context: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "fake-builder"
    script.write_text(f"#!{sys.executable}\n{FAKE}")
    script.chmod(0o755)
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "calls.jsonl"))
    return script


def _calls(tmp_path: Path) -> list[dict[str, Any]]:
    lines = (tmp_path / "calls.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _push(builder: Builder, tags: list[str], lines: list[str] | None = None) -> PushedImage:
    login = RegistryLogin(LOCAL, "AWS", PASSWORD)
    on_line = lines.append if lines is not None else None
    context = Path(builder.path).parent / "ctx"  # the fake and `context` share tmp_path
    return build_and_push(
        builder, context, f"{LOCAL}/rails-app", tags, "linux/amd64", login, on_line=on_line
    )


def test_build_login_push_each_tag_with_the_password_on_stdin(tmp_path: Path, fake: Path) -> None:
    lines: list[str] = []
    pushed = _push(Builder("buildah", str(fake)), ["a", "b"], lines)
    assert pushed == PushedImage(f"{LOCAL}/rails-app", ("a", "b"), DIGEST)
    calls = _calls(tmp_path)
    assert [c["argv"][0] for c in calls] == ["bud", "login", "push", "push"]
    assert calls[1]["stdin"] == PASSWORD  # no newline: builders would keep it
    assert all(PASSWORD not in arg for c in calls for arg in c["argv"])
    assert "bud: working" in lines and "$ " + str(fake) + " bud" in " ".join(lines)
    authfile = Path(calls[1]["argv"][calls[1]["argv"].index("--authfile") + 1])
    assert not authfile.exists()  # the token does not outlive the push


def test_docker_digest_from_push_output_or_inspect(
    tmp_path: Path, fake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docker = Builder("docker", str(fake), buildx=True)
    assert _push(docker, ["a"]).digest == DIGEST
    monkeypatch.setenv("FAKE_QUIET", "1")  # a push that prints no digest line
    assert _push(docker, ["a"]).digest == DIGEST
    verbs = [c["argv"][0] for c in _calls(tmp_path)]
    assert verbs == ["buildx", "login", "push", "buildx", "login", "push", "image"]


def test_a_failed_step_shows_its_last_lines_redacted(
    fake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_FAIL", "login")
    lines: list[str] = []
    with pytest.raises(HakobuError) as error:
        _push(Builder("podman", str(fake)), ["a"], lines)
    message = str(error.value)
    assert "`podman login` failed (exit code 3)" in message
    assert "login: refused for ****" in message and PASSWORD not in message
    assert not any(PASSWORD in line for line in lines)
    assert "ecr:GetAuthorizationToken" in message


def test_tags_that_point_at_different_digests_are_refused(
    fake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SPLIT", "1")
    with pytest.raises(HakobuError, match="different digests"):
        _push(Builder("buildah", str(fake)), ["a", "b"])


def test_bad_targets_are_refused_before_any_command(
    tmp_path: Path, fake: Path, context: Path
) -> None:
    builder = Builder("buildah", str(fake))
    login = RegistryLogin(ECR, "AWS", PASSWORD)
    with pytest.raises(HakobuError, match="not on the registry logged in to"):
        build_and_push(builder, context, f"{LOCAL}/rails-app", ["a"], "linux/amd64", login)
    for tags in ([], ["-bad"], ["has space"], ["x" * 129]):
        with pytest.raises(HakobuError):
            _push(builder, tags)
    (context / "Dockerfile").unlink()
    with pytest.raises(PreflightError, match="no Dockerfile at"):
        _push(builder, ["a"])
    assert not (tmp_path / "calls.jsonl").exists()


def test_a_missing_builder_binary_is_a_preflight_error(context: Path) -> None:
    gone = Builder("buildah", str(context.parent / "no-such-buildah"))
    with pytest.raises(PreflightError, match="cannot run"):
        _push(gone, ["a"])


# --- the tag rules, on real git repositories ------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid",
         "-c", "commit.gpgsign=false", *args],
        cwd=repo, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return result.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Test dirs may sit inside another repository (CI's TMPDIR is in the checkout).
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "app"
    (root / "sub").mkdir(parents=True)
    (root / "app.py").write_text("print('v1')\n")
    (root / "sub" / "logo.bin").write_bytes(b"\x00\x01\x02")
    (root / ".gitignore").write_text("*.log\n")
    _git(root, "init", "--quiet")
    _git(root, "add", "-A")
    _git(root, "commit", "--quiet", "-m", "v1")
    return root


def test_tag_format() -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    assert SourceRevision(commit, False, None).tag == "0123456789ab"
    assert SourceRevision(commit, True, "deadbeef" + "0" * 56).tag == "0123456789ab-dirty-deadbeef"


def test_clean_tree_is_tagged_with_the_commit(repo: Path) -> None:
    revision = source_revision(repo)
    assert revision == SourceRevision(_git(repo, "rev-parse", "HEAD"), False, None)
    assert source_revision(repo / "sub") == revision  # the whole repository counts
    (repo / "debug.log").write_text("ignored\n")
    assert source_revision(repo) == revision


def test_dirty_tag_names_the_diff(repo: Path) -> None:
    commit = _git(repo, "rev-parse", "HEAD")
    (repo / "app.py").write_text("print('v2')\n")
    first = source_revision(repo)
    assert first.dirty and re.fullmatch(rf"{commit[:12]}-dirty-[0-9a-f]{{8}}", first.tag)
    assert source_revision(repo) == first  # the same tree, the same tag
    _git(repo, "add", "app.py")
    assert source_revision(repo) == first  # staged or not, `git diff HEAD` is the same
    (repo / "app.py").write_text("print('v3')\n")
    assert source_revision(repo).tag != first.tag
    (repo / "app.py").write_text("print('v1')\n")
    assert not source_revision(repo).dirty


def test_binary_and_untracked_changes_count(repo: Path) -> None:
    (repo / "sub" / "logo.bin").write_bytes(b"\x00\x01\x03")
    binary = source_revision(repo)
    (repo / "sub" / "logo.bin").write_bytes(b"\x00\x01\x04")
    assert binary.dirty and source_revision(repo).tag != binary.tag
    (repo / "sub" / "logo.bin").write_bytes(b"\x00\x01\x02")
    (repo / "new.py").write_text("a\n")
    untracked = source_revision(repo)
    assert untracked.dirty
    (repo / "new.py").write_text("b\n")
    assert source_revision(repo).tag != untracked.tag
    (repo / "new.py").rename(repo / "other.py")
    assert source_revision(repo).tag not in (untracked.tag, binary.tag)


def test_no_repository_or_no_commit_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(HakobuError, match="not in a git repository") as error:
        source_revision(plain)
    assert error.value.fix == "commit, or deploy a prebuilt image with --image URI"
    _git(plain, "init", "--quiet")
    with pytest.raises(HakobuError, match="no commit yet"):
        source_revision(plain)
