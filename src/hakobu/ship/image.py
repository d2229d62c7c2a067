"""Build the app's image and push it to the registry: the guide's step 7, safe by construction.

The guide runs `aws ecr get-login-password | docker login`, `docker build`, `docker tag` and
`docker push ...:latest`. hakobu does the same with any of docker, podman or buildah, and:

- pushes tags named after the commit (hakobu.ship.git), and returns the pushed *digest*, which is
  what the task definition runs: a tag can be moved, a digest cannot;
- hands the registry password to the builder on stdin only: never in argv (visible to every
  user in `ps`) nor in the environment (visible in /proc/<pid>/environ), and never printed;
- keeps podman's and buildah's login in a temporary auth file, deleted after the push, so
  the 12-hour ECR token is not left behind in the user's auth.json.

Commands are data: the `*_command` functions only return argument lists (tested as exact
values); `build_and_push` runs them.

Storage for podman and buildah: their own configuration (containers-storage.conf, or the
STORAGE_DRIVER and BUILDAH_ISOLATION variables they read) decides, because only it knows
whether overlay works on this machine; guessing from "root in a container" would be wrong
as often as right (overlay works as root in some containers, not in others). Where overlay
does not work (nested containers, rootless without fuse-overlayfs), set HAKOBU_BUILDAH_VFS=1
and hakobu adds `--storage-driver vfs` to every podman/buildah command (build and push must
agree on the store, or the push cannot find the image) and `--isolation chroot` to the build.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hakobu.aws import ecr as ecr_ops
from hakobu.core.errors import HakobuError, PreflightError, aws_error
from hakobu.core.probe import probe_output

BUILDERS = ("docker", "podman", "buildah")
VFS_VARIABLE = "HAKOBU_BUILDAH_VFS"
ERROR_TAIL_LINES = 20
# The Docker/OCI tag grammar: what a registry accepts after the colon.
TAG_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
DIGEST_PATTERN = re.compile(r"sha256:[0-9a-f]{64}")
_DOCKER_PUSH_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")

LineHandler = Callable[[str], None]


@dataclass(frozen=True)
class RegistryLogin:
    """Credentials for one registry (host[:port]); the password is never in a repr."""

    registry: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Builder:
    """A container builder on this machine.

    `buildx`: docker with the buildx plugin (`--load` is then needed to get the image into
    the local store). `vfs`: podman/buildah with `--storage-driver vfs --isolation chroot`.
    """

    name: str
    path: str
    buildx: bool = False
    vfs: bool = False

    @property
    def containers(self) -> bool:
        """podman and buildah: same storage library, same auth-file and TLS flags."""
        return self.name in ("podman", "buildah")


@dataclass(frozen=True)
class PushedImage:
    repository: str
    tags: tuple[str, ...]
    digest: str

    @property
    def uri(self) -> str:
        """What the task definition runs: pinned by digest, never by a tag."""
        return f"{self.repository}@{self.digest}"


# --- ECR login ---------------------------------------------------------------------------


def ecr_login(ecr_client: Any, registry: str | None = None) -> RegistryLogin:
    """The ECR token as a registry login (what `aws ecr get-login-password` gives).

    `registry` overrides the host: the sandbox pushes to a local registry, because the
    emulator's ECR does not speak the registry protocol, but still logs in with its token.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        data = ecr_ops.authorization(ecr_client)
    except (BotoCoreError, ClientError) as exc:
        raise aws_error(exc) from exc
    username, password = decode_token(data["authorizationToken"])
    host = registry or registry_host(data["proxyEndpoint"])
    return RegistryLogin(registry=host, username=username, password=password)


def decode_token(token: str) -> tuple[str, str]:
    """`base64(user:password)` -> (user, password)."""
    try:
        text = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        text = ""
    username, sep, password = text.partition(":")
    if not sep or not username or not password:
        # Never echo the token: it is a credential even when malformed.
        raise HakobuError(
            "ECR returned an authorization token that is not base64 of user:password",
            "retry; if it persists, check `aws ecr get-login-password` by hand",
        )
    return username, password


def registry_host(endpoint: str) -> str:
    """`https://123.dkr.ecr.ap-northeast-1.amazonaws.com` -> the host[:port] part."""
    parts = urlsplit(endpoint if "//" in endpoint else f"//{endpoint}")
    if not parts.netloc:
        raise HakobuError(f"cannot read a registry host from {endpoint!r}")
    return parts.netloc


def is_loopback(registry: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost, with or without a port."""
    host = urlsplit(f"//{registry}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- finding a builder -------------------------------------------------------------------


def find_builder(preferred: str | None = None) -> Builder:
    """`preferred` if given, else the first of docker (with a daemon), podman, buildah."""
    if preferred is not None and preferred not in BUILDERS:
        raise PreflightError(
            f"unknown image builder {preferred!r}", f"use one of: {', '.join(BUILDERS)}"
        )
    vfs = os.environ.get(VFS_VARIABLE, "").lower() in ("1", "true", "yes")
    for name in (preferred,) if preferred else BUILDERS:
        builder = _probe(name, vfs)
        if builder is not None:
            return builder
    if preferred == "docker" and shutil.which("docker"):
        raise PreflightError(
            "docker is installed but no Docker daemon answered `docker info`",
            "start Docker Desktop (macOS) or the docker service (Linux: "
            "`sudo systemctl start docker`), or build with podman or buildah",
        )
    wanted = preferred or "docker, podman or buildah"
    raise PreflightError(f"no image builder found: hakobu builds with {wanted}", INSTALL_FIX)


INSTALL_FIX = (
    "macOS: install Docker Desktop and start it, or `brew install podman && podman machine "
    "init && podman machine start`. Linux: install Docker Engine, or `sudo apt-get install "
    "podman` (or buildah; Fedora: `sudo dnf install podman`). "
    "Or deploy a prebuilt image with --image URI"
)


def _probe(name: str, vfs: bool) -> Builder | None:
    path = shutil.which(name)
    if path is None:
        return None
    if name != "docker":
        return Builder(name, path, vfs=vfs)
    if "podman" in (probe_output([path, "--version"]) or "").lower():
        # podman-docker's `docker` shim: podman flags (digest file, auth file) work.
        return Builder("podman", path, vfs=vfs)
    # A docker CLI without a daemon (Docker Desktop not started) cannot build: skip it.
    if probe_output([path, "info", "--format", "{{.ServerVersion}}"]) is None:
        return None
    return Builder("docker", path, buildx=probe_output([path, "buildx", "version"]) is not None)


# --- commands as data --------------------------------------------------------------------


def build_command(
    builder: Builder, context: Path, images: list[str], platform: str, dockerfile: Path
) -> list[str]:
    """Build `dockerfile` in `context` for `platform`, tagged with each of `images`."""
    tags = [arg for image in images for arg in ("-t", image)]
    common = ["--platform", platform, *tags, "-f", str(dockerfile)]
    if builder.name == "docker":
        if builder.buildx:
            return [builder.path, "buildx", "build", *common, "--load", str(context)]
        return [builder.path, "build", *common, str(context)]
    verb = "bud" if builder.name == "buildah" else "build"
    isolation = ["--isolation", "chroot"] if builder.vfs else []
    # Docker's format, as `docker build` makes: OCI would drop HEALTHCHECK, SHELL, ONBUILD.
    return [*_global(builder), verb, *isolation, "--format", "docker", *common, str(context)]


def login_command(builder: Builder, login: RegistryLogin, authfile: Path | None) -> list[str]:
    """Log in to the registry; the password goes on stdin (see `build_and_push`)."""
    user = ["--username", login.username, "--password-stdin", login.registry]
    if builder.name == "docker":
        # Docker keeps its own credential store (~/.docker/config.json or a helper), as
        # the guide's `docker login` does; it trusts a loopback registry over plain HTTP.
        return [builder.path, "login", *user]
    return [builder.path, "login", *_auth(authfile), *_tls(login.registry), *user]


def push_command(
    builder: Builder, image: str, digestfile: Path | None, authfile: Path | None
) -> list[str]:
    """Push `image`; podman and buildah write the pushed manifest digest to `digestfile`."""
    if builder.name == "docker":
        return [builder.path, "push", image]
    digest = ["--digestfile", str(digestfile)] if digestfile else []
    registry = image.split("/", 1)[0]
    return [*_global(builder), "push", *_auth(authfile), *_tls(registry), *digest, image]


def inspect_digest_command(builder: Builder, image: str) -> list[str]:
    """docker only: the repo digests docker recorded for `image` after a push."""
    return [builder.path, "image", "inspect", "--format", "{{json .RepoDigests}}", image]


def image_id_command(builder: Builder, image: str) -> list[str]:
    """The local image's ID (the digest of its config), as the store knows it."""
    if builder.name == "buildah":
        return [
            *_global(builder),
            "inspect",
            "--type",
            "image",
            "--format",
            "{{.FromImageID}}",
            image,
        ]
    return [*_global(builder), "image", "inspect", "--format", "{{.Id}}", image]


def _global(builder: Builder) -> list[str]:
    return [builder.path, "--storage-driver", "vfs"] if builder.vfs else [builder.path]


def _auth(authfile: Path | None) -> list[str]:
    return ["--authfile", str(authfile)] if authfile else []


def _tls(registry: str) -> list[str]:
    # Only a loopback registry (the sandbox's) may be plain HTTP; ECR always has TLS.
    return ["--tls-verify=false"] if is_loopback(registry) else []


# --- running them ------------------------------------------------------------------------


def build_and_push(
    builder: Builder,
    context: Path,
    repository: str,
    tags: list[str],
    platform: str,
    login: RegistryLogin,
    dockerfile: Path | None = None,
    on_line: LineHandler | None = None,
) -> PushedImage:
    """Build, log in, push each tag; the digest of what the registry now holds."""
    dockerfile = dockerfile or context / "Dockerfile"
    _check_target(repository, tags, login)
    _check_sources(context, dockerfile)
    images = [f"{repository}:{tag}" for tag in tags]
    run = _Runner(builder, login.password, on_line)
    with tempfile.TemporaryDirectory(prefix="hakobu-push-") as tmp:  # mode 0700
        workdir = Path(tmp)
        authfile = workdir / "auth.json" if builder.containers else None
        run("build", build_command(builder, context, images, platform, dockerfile))
        run("login", login_command(builder, login, authfile), stdin=login.password)
        digests = [_push(run, image, repository, workdir, authfile) for image in images]
    if len(set(digests)) != 1:
        raise HakobuError(
            f"the tags of {repository} point at different digests: {', '.join(digests)}",
            "retry the deploy; another push to the same tags may have raced this one",
        )
    return PushedImage(repository=repository, tags=tuple(tags), digest=digests[0])


def build_local(
    builder: Builder,
    context: Path,
    repository: str,
    tags: list[str],
    platform: str,
    dockerfile: Path | None = None,
    on_line: LineHandler | None = None,
) -> str:
    """Build into the builder's own store and push nothing (the sandbox: no image leaves
    the machine); the image's ID, `sha256:` + the digest of its config."""
    dockerfile = dockerfile or context / "Dockerfile"
    _check_tags(tags)
    _check_sources(context, dockerfile)
    images = [f"{repository}:{tag}" for tag in tags]
    run = _Runner(builder, "", on_line)
    run("build", build_command(builder, context, images, platform, dockerfile))
    found = run("inspect", image_id_command(builder, images[0]))
    image_id = (found[-1] if found else "").strip()
    image_id = image_id if image_id.startswith("sha256:") else f"sha256:{image_id}"
    if not DIGEST_PATTERN.fullmatch(image_id):
        raise HakobuError(
            f"{builder.name} built {images[0]} but did not report its image ID (got {image_id!r})",
            f"check the image with `{shlex.join(image_id_command(builder, images[0]))}`",
        )
    return image_id


def _check_target(repository: str, tags: list[str], login: RegistryLogin) -> None:
    _check_tags(tags)
    if repository.split("/", 1)[0] != login.registry:
        raise HakobuError(
            f"the repository {repository} is not on the registry logged in to ({login.registry})",
            "push to the ECR repository of this stack (`hakobu outputs`: ecr_repository_url)",
        )


def _check_tags(tags: list[str]) -> None:
    if not tags:
        raise HakobuError("no tag to push", "give at least one tag (the commit's)")
    bad = [tag for tag in tags if not TAG_PATTERN.fullmatch(tag)]
    if bad:
        raise HakobuError(
            f"not a valid image tag: {', '.join(bad)}",
            "a tag is up to 128 letters, digits, '_', '.', '-', not starting with '.' or '-'",
        )


def _check_sources(context: Path, dockerfile: Path) -> None:
    if not context.is_dir():
        raise PreflightError(f"the build context {context} is not a directory")
    if not dockerfile.is_file():
        raise PreflightError(
            f"no Dockerfile at {dockerfile}",
            "write one (`hakobu init` makes a starting point), point hakobu.toml at yours, "
            "or deploy a prebuilt image with --image URI",
        )


def _push(run: _Runner, image: str, repository: str, workdir: Path, authfile: Path | None) -> str:
    """Push one tag; the digest of the manifest the registry stored."""
    builder = run.builder
    if builder.containers:
        digestfile = workdir / "digest"
        digestfile.unlink(missing_ok=True)
        run("push", push_command(builder, image, digestfile, authfile))
        written = digestfile.read_text(encoding="utf-8") if digestfile.exists() else ""
        return _valid_digest(written.strip(), image)
    found = docker_push_digest(run("push", push_command(builder, image, None, None)))
    if found is None:  # an older or wrapped CLI: ask docker what it recorded
        inspected = run("inspect", inspect_digest_command(builder, image))
        found = repo_digest(inspected, repository)
    return _valid_digest(found or "", image)


def docker_push_digest(lines: Iterable[str]) -> str | None:
    """The digest from `docker push` output (`<tag>: digest: sha256:... size: N`)."""
    for line in lines:
        match = _DOCKER_PUSH_DIGEST.search(line)
        if match:
            return match.group(1)
    return None


def repo_digest(lines: Iterable[str], repository: str) -> str | None:
    """The digest for `repository` in `docker image inspect` RepoDigests JSON.

    Line by line: stderr (warnings) is merged into the output the runner collects.
    """
    for line in lines:
        try:
            entries = json.loads(line)
        except ValueError:
            continue
        for entry in entries if isinstance(entries, list) else []:
            name, _, digest = str(entry).partition("@")
            if name == repository:
                return digest
    return None


def _valid_digest(digest: str, image: str) -> str:
    if not DIGEST_PATTERN.fullmatch(digest):
        raise HakobuError(
            f"the push of {image} did not report a sha256 digest (got {digest!r})",
            "check the registry with `docker manifest inspect` or `skopeo inspect`",
        )
    return digest


class _Runner:
    """Runs one builder command at a time, streaming its output (password redacted)."""

    def __init__(self, builder: Builder, secret: str, on_line: LineHandler | None) -> None:
        self.builder = builder
        self.secret = secret
        self.on_line = on_line

    def __call__(self, step: str, argv: list[str], stdin: str | None = None) -> list[str]:
        """Run `argv`; its output lines, or a HakobuError naming `step` if it fails."""
        if self.secret and any(self.secret in arg for arg in argv):
            # Cannot happen by construction; kept so a future edit cannot leak it to `ps`.
            raise RuntimeError("refusing to put a registry password in a command line")
        self._emit(f"$ {shlex.join(argv)}")
        try:
            code, lines = self._stream(argv, stdin)
        except OSError as exc:  # the builder vanished since find_builder, or is not executable
            raise PreflightError(f"cannot run {argv[0]}: {exc.strerror}", INSTALL_FIX) from exc
        if code != 0:
            raise self._failure(step, argv, code, lines)
        return lines

    def _stream(self, argv: list[str], stdin: str | None) -> tuple[int, list[str]]:
        lines: list[str] = []
        with subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # one stream, in order, as the user would see it
            text=True,
            encoding="utf-8",
            errors="replace",
        ) as process:
            if stdin is not None:
                _feed(process, stdin)
            assert process.stdout is not None
            for raw in process.stdout:
                line = self._redact(raw.rstrip("\r\n"))
                lines.append(line)
                self._emit(line)
        return process.returncode, lines

    def _emit(self, line: str) -> None:
        if self.on_line is not None:
            self.on_line(line)

    def _redact(self, line: str) -> str:
        return line.replace(self.secret, "****") if self.secret else line

    def _failure(self, step: str, argv: list[str], code: int, lines: list[str]) -> HakobuError:
        tail = "\n".join(f"  {line}" for line in deque(lines, maxlen=ERROR_TAIL_LINES))
        return HakobuError(
            f"`{self.builder.name} {step}` failed (exit code {code}). Last lines:\n{tail}",
            _FIXES.get(step, f"run it by hand to see why: {shlex.join(argv)}"),
        )


def _feed(process: subprocess.Popen[str], text: str) -> None:
    """Write the password and close stdin, so the builder sees its end at once."""
    assert process.stdin is not None
    try:
        process.stdin.write(text)
        process.stdin.close()
    except BrokenPipeError:  # the builder exited first; its output says why
        pass


_FIXES = {
    "login": "the registry refused the login: check that your AWS credentials may call "
    "ecr:GetAuthorizationToken and push to the repository (the token lasts 12 hours)",
    "push": "check that the repository exists (`hakobu up` creates it) and that your AWS "
    "credentials may push to it (ecr:InitiateLayerUpload, ecr:PutImage)",
}
