"""The engine driver: runs the Terraform (or OpenTofu) CLI in an environment's workdir.

Commands are built as argument lists by small pure functions and run by one executor
that reads Terraform's machine-readable output (`-json`), so progress can be shown live
and errors reported with Terraform's own diagnostics. Nothing here talks to AWS.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hakobu.core.errors import PreflightError, TerraformError

ENGINES = ("terraform", "tofu")
PLAN_FILE = "tfplan"
DOCUMENT_FILE = "main.tf.json"
CLI_CONFIG_FILE = "terraform.rc"
MIRROR_ENV = "HAKOBU_PROVIDER_MIRROR"
ENGINE_ENV = "HAKOBU_TERRAFORM"
AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"

Event = dict[str, Any]
EventHandler = Callable[[Event], None]


def find_engine() -> str:
    """The Terraform-compatible CLI to use: $HAKOBU_TERRAFORM, then terraform, then tofu."""
    wanted = os.environ.get(ENGINE_ENV)
    candidates = [wanted] if wanted else list(ENGINES)
    for name in candidates:
        path = shutil.which(name)
        if path:
            return path
    missing = (
        f"{ENGINE_ENV}={wanted} was not found"
        if wanted
        else "neither terraform nor tofu was found on PATH"
    )
    raise PreflightError(
        f"{missing}; hakobu applies infrastructure with it",
        "install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install, "
        "e.g. `brew install hashicorp/tap/terraform`) or OpenTofu >= 1.11 "
        "(`brew install opentofu`), or set HAKOBU_TERRAFORM to its path",
    )


ENGINE_PROBE_TIMEOUT_S = 10


def engine_version() -> str:
    """The engine's version as it reports it, with its path (`1.11.4 (/usr/bin/terraform)`),
    or why it is not known: the line `hakobu --version -v` shows, which never fails."""
    try:
        engine = find_engine()
        result = subprocess.run(
            [engine, "version", "-json"],
            capture_output=True,
            text=True,
            timeout=ENGINE_PROBE_TIMEOUT_S,
            env={**os.environ, "CHECKPOINT_DISABLE": "1"},  # no version check call home
            check=False,
        )
        found = json.loads(result.stdout).get("terraform_version", "?")
    except PreflightError:
        return "not found (neither terraform nor tofu is on PATH)"
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return f"unknown ({type(exc).__name__})"
    return f"{found} ({engine})"


def find_provider_mirror() -> Path | None:
    """A local filesystem mirror holding the AWS provider, if this machine has one.

    Looks at $HAKOBU_PROVIDER_MIRROR, then Terraform's usual plugin directories and the
    directories directly under /opt. Without one, `terraform init` downloads the provider
    as usual.
    """
    explicit = os.environ.get(MIRROR_ENV)
    if explicit:
        return Path(explicit)
    home = Path.home()
    data_home = Path(os.environ.get("XDG_DATA_HOME", home / ".local" / "share"))
    roots = [
        home / ".terraform.d" / "plugins",
        data_home / "terraform" / "plugins",
        Path("/usr/local/share/terraform/plugins"),
        Path("/usr/share/terraform/plugins"),
    ]
    opt = Path("/opt")
    if opt.is_dir():
        roots += sorted(p for p in opt.iterdir() if p.is_dir())
    for root in roots:
        if (root / AWS_PROVIDER).is_dir():
            return root
    return None


def cli_config(mirror: Path) -> str:
    """A CLI config that takes the AWS provider from `mirror` and never downloads it."""
    return (
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(mirror))}\n"
        f'    include = ["{AWS_PROVIDER}"]\n'
        "  }\n"
        "  direct {\n"
        f'    exclude = ["{AWS_PROVIDER}"]\n'
        "  }\n"
        "}\n"
    )


# --- Commands as data ---------------------------------------------------------------


def init_args(
    backend_config: Mapping[str, str] | None = None, migrate_state: bool = False
) -> list[str]:
    """`terraform init`. `backend_config` adds settings to the backend block at init time
    (`-backend-config=KEY=VALUE`), so they stay out of main.tf.json. `migrate_state` copies
    the state of the previous backend into the new one without asking, instead of starting
    the new backend afresh (`-reconfigure`)."""
    args = ["init", "-input=false", "-no-color"]
    args += ["-migrate-state", "-force-copy"] if migrate_state else ["-reconfigure"]
    return [*args, *(f"-backend-config={k}={v}" for k, v in (backend_config or {}).items())]


def plan_args(destroy: bool = False) -> list[str]:
    args = ["plan", "-input=false", "-json", f"-out={PLAN_FILE}"]
    return [*args, "-destroy"] if destroy else args


def apply_args() -> list[str]:
    return ["apply", "-input=false", "-json", "-auto-approve", PLAN_FILE]


def show_plan_args() -> list[str]:
    return ["show", "-json", "-no-color", PLAN_FILE]


def output_args() -> list[str]:
    return ["output", "-json", "-no-color"]


def validate_args() -> list[str]:
    return ["validate", "-json", "-no-color"]


# --- Plan summary ---------------------------------------------------------------------


@dataclass
class PlannedChange:
    address: str
    resource_type: str
    action: str  # create, update, delete, replace, read, noop, move, import, forget


@dataclass
class PlanSummary:
    add: int = 0
    change: int = 0
    destroy: int = 0
    # Existing resources adopted into the state (a restored secret): work to apply too.
    imports: int = 0
    changes: list[PlannedChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.add == self.change == self.destroy == self.imports == 0


def summarize_plan(events: list[Event]) -> PlanSummary:
    """Counts and per-resource actions from `terraform plan -json` messages."""
    summary = PlanSummary()
    for event in events:
        kind = event.get("type")
        if kind == "planned_change":
            resource = event["change"]["resource"]
            summary.changes.append(
                PlannedChange(
                    address=resource["addr"],
                    resource_type=resource["resource_type"],
                    action=event["change"]["action"],
                )
            )
        elif kind == "change_summary":
            changes = event["changes"]
            summary.add, summary.change = changes["add"], changes["change"]
            summary.destroy = changes["remove"]
            summary.imports = changes.get("import", 0)
    return summary


def summarize_saved_plan(plan: dict[str, Any]) -> PlanSummary:
    """The same summary from `terraform show -json PLANFILE` (a plan saved earlier)."""
    summary = PlanSummary()
    for change in plan.get("resource_changes", []):
        actions = change["change"]["actions"]
        if change["change"].get("importing"):
            summary.imports += 1
        action = "replace" if sorted(actions) == ["create", "delete"] else actions[0]
        if action in ("no-op", "read"):
            continue
        summary.changes.append(PlannedChange(change["address"], change["type"], action))
        if action == "create":
            summary.add += 1
        elif action == "update":
            summary.change += 1
        elif action == "delete":
            summary.destroy += 1
        elif action == "replace":
            summary.add += 1
            summary.destroy += 1
    return summary


# --- The executor ---------------------------------------------------------------------


@dataclass
class Terraform:
    """Runs the engine in `workdir` with `environment` added to the process environment."""

    workdir: Path
    environment: dict[str, str] = field(default_factory=dict)
    unset: tuple[str, ...] = ()
    engine: str = field(default_factory=find_engine)
    # None while the endpoint Terraform talks to lives (see Target.stopped), else why not.
    stopped: Callable[[], str | None] | None = None

    def write_document(self, document: dict[str, Any]) -> bool:
        """Write the configuration (and the CLI config); True if it differs from before."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.workdir / DOCUMENT_FILE
        text = json.dumps(document, indent=2) + "\n"
        changed = not path.is_file() or path.read_text(encoding="utf-8") != text
        path.write_text(text, encoding="utf-8")
        mirror = find_provider_mirror()
        if mirror is not None:
            (self.workdir / CLI_CONFIG_FILE).write_text(cli_config(mirror), encoding="utf-8")
        return changed

    @property
    def plan_file(self) -> Path:
        return self.workdir / PLAN_FILE

    def init(
        self, backend_config: Mapping[str, str] | None = None, migrate_state: bool = False
    ) -> None:
        self._run(init_args(backend_config, migrate_state))

    def validate(self) -> list[Event]:
        result = self._run(validate_args(), check=False)
        report = json.loads(result.stdout)
        return list(report.get("diagnostics", []))

    def plan(self, on_event: EventHandler | None = None, destroy: bool = False) -> PlanSummary:
        events = self._stream(plan_args(destroy), on_event)
        return summarize_plan(events)

    def saved_plan(self) -> PlanSummary | None:
        """The plan `hakobu plan` saved, if there is one."""
        shown = self.shown_plan()
        return summarize_saved_plan(shown) if shown is not None else None

    def shown_plan(self) -> dict[str, Any] | None:
        """The saved plan as `terraform show -json` gives it (each resource's before and
        after), if there is one."""
        if not self.plan_file.is_file():
            return None
        return dict(json.loads(self._run(show_plan_args()).stdout))

    def apply(self, on_event: EventHandler | None = None) -> list[Event]:
        try:
            return self._stream(apply_args(), on_event)
        finally:
            # A saved plan is single-use: once applied (or failed) it is stale.
            self.plan_file.unlink(missing_ok=True)

    def outputs(self) -> dict[str, Any]:
        raw = json.loads(self._run(output_args()).stdout or "{}")
        return {name: entry["value"] for name, entry in raw.items()}

    def _process_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in self.unset}
        env.update(self.environment)
        env["CHECKPOINT_DISABLE"] = "1"  # no version check or telemetry call home
        env["TF_IN_AUTOMATION"] = "1"
        env.pop("TF_WORKSPACE", None)
        rc = self.workdir / CLI_CONFIG_FILE
        if rc.is_file():
            env["TF_CLI_CONFIG_FILE"] = str(rc)
        return env

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.engine, *args],
            cwd=self.workdir,
            env=self._process_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise TerraformError(
                f"`{Path(self.engine).name} {args[0]}` failed in {self.workdir}:\n"
                f"{(result.stderr or result.stdout).strip()}",
                "read Terraform's message above; fix hakobu.toml or the AWS side and run again",
            )
        return result

    def _stream(self, args: list[str], on_event: EventHandler | None) -> list[Event]:
        """Run a `-json` command, handing each message to `on_event` as it arrives."""
        events: list[Event] = []
        with subprocess.Popen(
            [self.engine, *args],
            cwd=self.workdir,
            env=self._process_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            assert process.stdout is not None and process.stderr is not None
            watchdog = _Watchdog.start(process, self.stopped)
            try:
                for event in _json_lines(process.stdout):
                    events.append(event)
                    if on_event:
                        on_event(event)
            except KeyboardInterrupt:
                # Terraform got the same Ctrl-C (same process group) and stops cleanly,
                # saving the state of what it finished; wait for it instead of orphaning it.
                process.wait()
                raise
            finally:
                if watchdog:
                    watchdog.done.set()
            stderr = process.stderr.read()
            code = process.wait()
        if watchdog and watchdog.reason:
            raise TerraformError(
                f"`{Path(self.engine).name} {args[0]}` was stopped: {watchdog.reason}",
                "run the command again: it starts a new, empty sandbox emulator "
                "(`hakobu up --sandbox` builds the stack in it again)",
            )
        if code != 0:
            raise TerraformError(
                f"`{Path(self.engine).name} {args[0]}` failed:\n{_diagnostics(events, stderr)}",
                "fix the cause above and run the command again; resources Terraform finished "
                "are kept in the state, so the next run continues from there",
            )
        return events


@dataclass
class _Watchdog:
    """Stops a Terraform run whose endpoint is gone: the AWS provider retries a refused
    connection for many minutes, and the user would see nothing but a stalled line."""

    process: subprocess.Popen[str]
    stopped: Callable[[], str | None]
    done: threading.Event = field(default_factory=threading.Event)
    reason: str | None = None

    POLL_S = 0.5
    GRACE_S = 5.0  # per signal: SIGINT (Terraform's own clean stop), SIGTERM, then SIGKILL

    @classmethod
    def start(
        cls, process: subprocess.Popen[str], stopped: Callable[[], str | None] | None
    ) -> _Watchdog | None:
        if stopped is None:
            return None
        watchdog = cls(process, stopped)
        threading.Thread(target=watchdog._run, name="terraform-watchdog", daemon=True).start()
        return watchdog

    def _run(self) -> None:
        while not self.done.wait(self.POLL_S):
            reason = self.stopped()
            if reason is not None:
                self.reason = reason
                self._stop_process()
                return

    def _stop_process(self) -> None:
        for send in (
            lambda: self.process.send_signal(signal.SIGINT),
            self.process.terminate,
            self.process.kill,
        ):
            if self.process.poll() is not None:
                return
            send()
            try:
                self.process.wait(self.GRACE_S)
                return
            except subprocess.TimeoutExpired:
                continue


def _json_lines(stream: Any) -> Iterator[Event]:
    for line in stream:
        line = line.strip()
        if not line:
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            yield {"type": "text", "@message": line}


def _diagnostics(events: list[Event], stderr: str) -> str:
    lines = []
    for event in events:
        if event.get("type") == "diagnostic" and event["diagnostic"].get("severity") == "error":
            diagnostic = event["diagnostic"]
            where = diagnostic.get("address") or ""
            detail = diagnostic.get("detail", "").strip()
            lines.append(
                f"  {where + ': ' if where else ''}{diagnostic['summary']}"
                + (f"\n    {detail}" if detail else "")
            )
    return "\n".join(lines) or stderr.strip() or "(no message)"
