"""ECS tasks as containers: start a task's containers as its task definition says, follow
them, ship their output to CloudWatch Logs and report each step to the emulator.

A task goes PROVISIONING -> PENDING -> RUNNING -> (DEACTIVATING ->) STOPPING -> STOPPED, as
on Fargate; `describe-tasks` shows each step, the containers' exit codes, the stop code and
the stopped reason in ECS's words. Stopping (SIGTERM, a grace period, removal) runs on a
small pool so a slow container never holds up the reconcile loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from hakobu.sandbox.runtime import bridge, rules
from hakobu.sandbox.runtime.container_health import Tracker, task_health
from hakobu.sandbox.runtime.engine import ContainerEngine, ContainerSpec, RunningContainer

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 30.0  # ECS's default stopTimeout before SIGKILL
LABEL_RUNTIME = "hakobu.runtime"
LABEL_TASK = "hakobu.task"


@dataclass(frozen=True)
class PullFailure:
    reason: str  # the stoppedReason, in ECS's words


@dataclass
class TaskRun:
    """A task the runtime runs, and what it knows of it."""

    ref: bridge.TaskRef
    id: str
    service: str | None
    deployment: str | None
    definition: bridge.TaskDefinition
    ip: str | None
    containers: dict[str, RunningContainer] = field(default_factory=dict)
    status: str = "PENDING"  # as last reported
    running_since: float | None = None
    stopping: bool = False  # a stop was decided (draining, or the container is stopping)
    stop_reason: str | None = None
    failed: bool = False  # it stopped on a failure (circuit breaker material)
    exit_codes: dict[str, int | None] = field(default_factory=dict)
    log_since: dict[str, float] = field(default_factory=dict)
    health: dict[str, Tracker] = field(default_factory=dict)  # containers with a healthCheck

    @property
    def health_status(self) -> str:
        """ECS's task healthStatus: from its essential containers with a health check."""
        essential = {c.name for c in self.definition.containers if c.essential}
        return task_health(t.status for name, t in self.health.items() if name in essential)

    @property
    def checks_health(self) -> bool:
        essential = {c.name for c in self.definition.containers if c.essential}
        return any(name in essential for name in self.health)

    @property
    def live(self) -> bool:
        return self.status != "STOPPED" and not self.stopping

    def host_port(self, container_name: str) -> int | None:
        running = self.containers.get(container_name)
        return running.host_port if running else None


class TaskRunner:
    """Runs tasks with one container engine; every container carries the runtime's label."""

    def __init__(
        self,
        engine: ContainerEngine,
        runtime_id: str,
        hosts: Callable[[str, str], Mapping[str, str]],
        clock: Callable[[], float],
    ) -> None:
        self.engine = engine
        self.labels = {LABEL_RUNTIME: runtime_id}
        self.hosts = hosts  # (account, region) -> {DB host name: address}
        self.clock = clock
        self.runs: dict[str, TaskRun] = {}  # by task ARN
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hakobu-task-stop")
        self._checks = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hakobu-health")

    # --- starting ------------------------------------------------------------------------

    def launch(self, task: bridge.Task, deployment: str | None = None) -> TaskRun:
        """Start `task`'s containers; a task that cannot start is STOPPED at once."""
        account, region = task.ref.account, task.ref.region
        definition = bridge.task_definition(account, region, task.task_definition)
        run = TaskRun(task.ref, task.id, task.service_name, deployment, definition, task.ip)
        with self._lock:
            self.runs[task.ref.arn] = run
        bridge.claim(task.ref)
        bridge.set_task_state(task.ref, "PENDING")
        try:
            specs = [self._spec(task, definition, c) for c in definition.containers]
        except LookupError as exc:
            # ECS's wording when the execution role cannot read a secret.
            reason = f"ResourceInitializationError: unable to pull secrets or registry auth: {exc}"
            self._failed_to_start(run, reason)
            return run
        for spec, container in zip(specs, definition.containers, strict=True):
            local = self._pull(spec.image)
            if isinstance(local, PullFailure):
                self._failed_to_start(run, local.reason)
                return run
            try:
                run.containers[container.name] = self.engine.run(replace(spec, image=local))
            except Exception as exc:  # the engine's error names the cause
                self._failed_to_start(run, f"CannotStartContainerError: {exc}")
                return run
        run.status, run.running_since = "RUNNING", self.clock()
        for c in definition.containers:
            if c.health is not None and c.health_command:
                run.health[c.name] = Tracker(c.health, list(c.health_command), run.running_since)
        self._report_running(run)
        return run

    def _pull(self, image: str) -> str | PullFailure:
        """The local image to run for `image`, found as ECS would pull it: through the
        emulated ECR for an ECR image, else in the engine's store. Nothing is pulled."""
        prefix = "CannotPullContainerError: pull image manifest has been retried 1 time(s): "
        local = bridge.local_image(image)
        if local is None:
            return PullFailure(f"{prefix}failed to resolve ref {image}: {image}: not found")
        if not self.engine.image_exists(local):
            where = f" (ECR's manifest names {local})" if local != image else ""
            return PullFailure(
                f"{prefix}{image}{where}: not in {self.engine.name}'s local store, and the "
                "sandbox pulls nothing: deploy it with `hakobu deploy --sandbox`"
            )
        return local

    def _report_running(self, run: TaskRun) -> None:
        bridge.set_task_state(
            run.ref,
            run.status,
            containers=[
                bridge.ContainerReport(
                    name,
                    "RUNNING",
                    runtime_id=c.id,
                    health_status=run.health[name].status if name in run.health else "UNKNOWN",
                )
                for name, c in run.containers.items()
            ],
            health_status=run.health_status,
        )

    def _spec(
        self, task: bridge.Task, definition: bridge.TaskDefinition, c: bridge.ContainerDefinition
    ) -> ContainerSpec:
        """The container as Fargate runs it: exactly the definition's environment (with the
        run's overrides) plus its resolved secrets, command, port and limits."""
        override = task.overrides.get(c.name)
        environment = {**c.environment, **(override.environment if override else {})}
        for name, value_from in c.secrets.items():
            environment[name] = bridge.secret_value(task.ref.account, task.ref.region, value_from)
        command = override.command if override and override.command else c.command
        single = len(definition.containers) == 1
        return ContainerSpec(
            name=f"hakobu-{task.id}-{c.name}",
            image=c.image,
            command=list(command) if command else None,
            entrypoint=list(c.entrypoint) if c.entrypoint else None,
            environment=environment,
            port=c.port,
            cpu_units=c.cpu or (definition.cpu if single else None),
            memory_mib=c.memory or (definition.memory if single else None),
            labels={**self.labels, LABEL_TASK: task.id, "hakobu.container": c.name},
            add_hosts=dict(self.hosts(task.ref.account, task.ref.region)),
            health_command=list(c.health_command) if c.health_command else None,
        )

    def _failed_to_start(self, run: TaskRun, reason: str) -> None:
        log.info("task %s failed to start: %s", run.id, reason)
        run.failed, run.stop_reason = True, reason
        self._remove_containers(run)
        self._report_stopped(run, reason, rules.STOP_FAILED_TO_START)

    # --- following -----------------------------------------------------------------------

    def poll(self) -> None:
        """Ship new output, notice exited containers and stops asked through the API."""
        for run in list(self.runs.values()):
            if run.status not in ("RUNNING", "DEACTIVATING"):
                continue  # not started, or the stop pool has it
            self._ship_logs(run)  # a draining task still serves requests
            self._check_exit(run)
            self._check_health(run)
            # A service's tasks are stopped by its scheduler: deregistered and drained first.
            if run.status == "RUNNING" and not run.stopping and run.service is None:
                asked = bridge.task(run.ref)
                if asked is not None and asked.desired_status == "STOPPED":
                    self.stop(run, asked.stopped_reason or "Task stopped by user", rules.STOP_USER)

    def _check_exit(self, run: TaskRun) -> None:
        for name, container in run.containers.items():
            try:
                state = self.engine.state(container.id)
            except Exception:
                state = None
            if state is not None and state.running:
                continue
            run.exit_codes[name] = state.exit_code if state else None
            essential = next(c.essential for c in run.definition.containers if c.name == name)
            if essential:
                # A service task is not meant to exit: for the circuit breaker it failed.
                failed = run.service is not None and not run.stopping
                self.stop(run, rules.ESSENTIAL_EXITED, rules.STOP_ESSENTIAL_EXITED, failed)
                return

    def _check_health(self, run: TaskRun) -> None:
        """Start due health checks on the check pool; report what changed."""
        now = self.clock()
        for name, tracker in run.health.items():
            if tracker.due(now) and name in run.containers:
                tracker.checking = True
                self._checks.submit(self._health_check, run, name, tracker)

    def _health_check(self, run: TaskRun, name: str, tracker: Tracker) -> None:
        before = tracker.status
        try:
            passed = self.engine.health_check(
                run.containers[name].id, tracker.command, tracker.settings.timeout_s
            )
        except Exception:
            passed = False
        tracker.record(passed, self.clock())
        if tracker.status != before and run.status in ("RUNNING", "DEACTIVATING"):
            self._report_running(run)

    def _ship_logs(self, run: TaskRun) -> None:
        for c in run.definition.containers:
            container = run.containers.get(c.name)
            if container is None or c.log is None:
                continue
            try:
                lines = self.engine.logs(container.id, since=run.log_since.get(c.name))
            except Exception:
                continue
            if not lines:
                continue
            run.log_since[c.name] = lines[-1][0]
            stream = "/".join(p for p in (c.log.stream_prefix, c.name, run.id) if p)
            region = c.log.region or run.ref.region
            bridge.put_log_events(
                run.ref.account, region, c.log.group, stream, [(ts, text) for ts, _, text in lines]
            )

    # --- stopping ------------------------------------------------------------------------

    def stop(self, run: TaskRun, reason: str, stop_code: str, failed: bool = False) -> None:
        """Stop the task's containers in the background and report STOPPED after."""
        if run.status in ("STOPPING", "STOPPED"):
            return
        run.stopping, run.stop_reason = True, run.stop_reason or reason
        run.failed = run.failed or failed
        run.status = "STOPPING"
        bridge.set_task_state(run.ref, "STOPPING", desired_status="STOPPED", stopped_reason=reason)
        self._pool.submit(self._stop_now, run, reason, stop_code)

    def _stop_now(self, run: TaskRun, reason: str, stop_code: str) -> None:
        try:
            for container in run.containers.values():
                self.engine.stop(container.id, timeout_s=STOP_TIMEOUT_S)
            self._ship_logs(run)
            for name, container in run.containers.items():
                if name not in run.exit_codes:
                    state = self.engine.state(container.id)
                    run.exit_codes[name] = state.exit_code
        except Exception:
            log.exception("stopping task %s", run.id)
        self._remove_containers(run)
        self._report_stopped(run, reason, stop_code)

    def _remove_containers(self, run: TaskRun) -> None:
        for container in run.containers.values():
            try:
                self.engine.remove(container.id)
            except Exception:
                log.exception("removing container %s", container.id)

    def _report_stopped(self, run: TaskRun, reason: str, stop_code: str) -> None:
        run.status, run.stopping = "STOPPED", True
        reports = [
            bridge.ContainerReport(
                c.name,
                "STOPPED",
                exit_code=run.exit_codes.get(c.name),
                reason=reason if stop_code == rules.STOP_FAILED_TO_START else None,
                runtime_id=run.containers[c.name].id if c.name in run.containers else None,
                health_status=run.health[c.name].status if c.name in run.health else "UNKNOWN",
            )
            for c in run.definition.containers
        ]
        bridge.set_task_state(
            run.ref,
            "STOPPED",
            desired_status="STOPPED",
            stopped_reason=reason,
            stop_code=stop_code,
            containers=reports,
        )

    def drain(self, run: TaskRun) -> None:
        """Mark a task as being stopped while its targets drain (ECS: DEACTIVATING)."""
        run.stopping, run.status = True, "DEACTIVATING"
        bridge.set_task_state(run.ref, "DEACTIVATING", desired_status="STOPPED")

    def forget_stopped(self) -> list[TaskRun]:
        """Remove finished runs from the registry; returns them (for the services' books)."""
        with self._lock:
            done = [r for r in self.runs.values() if r.status == "STOPPED"]
            for run in done:
                del self.runs[run.ref.arn]
        return done

    def shutdown(self) -> int:
        """Remove every container the runtime started (by label); how many there were."""
        # Not waiting for stops under way: removal ends those containers at once.
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._checks.shutdown(wait=False, cancel_futures=True)
        return self.engine.remove_all(self.labels)
