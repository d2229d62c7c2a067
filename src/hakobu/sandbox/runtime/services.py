"""The ECS service scheduler: rolling updates, target registration and draining, failed
tasks, the deployment circuit breaker and its rollback, counts and events.

Each pass looks at every service in the emulator and the tasks the runtime runs for it,
then takes one step towards the desired state, following ECS's documented rules (see
rules.py): new tasks start within maximumPercent; a task joins its target groups once
RUNNING; old tasks are deregistered, drained for the group's deregistration delay and
stopped only while enough tasks stay healthy (minimumHealthyPercent); a task that exits or
fails its ELB health checks after the grace period is stopped and replaced; a deployment is
COMPLETED when its tasks are all running and healthy and no older task is left.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from hakobu.sandbox.runtime import bridge, rules
from hakobu.sandbox.runtime.container_health import FAILED_CHECKS
from hakobu.sandbox.runtime.routing import Routing
from hakobu.sandbox.runtime.tasks import TaskRun, TaskRunner

log = logging.getLogger(__name__)

# After a failed launch ECS waits before trying again; doubling from here, up to the max.
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0


@dataclass
class Book:
    """What the scheduler remembers of one service between passes."""

    completed: tuple[str, str] | None = None  # (deployment id, task definition) last COMPLETED
    failures: dict[str, int] = field(default_factory=dict)  # failed tasks per deployment
    counted: set[str] = field(default_factory=set)  # task ARNs already counted as failed
    streak: int = 0  # failed launches in a row (for the back-off)
    retry_at: float = 0.0
    steady: bool = False
    registered: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # arn -> targets
    stopping: dict[str, tuple[str, str]] = field(default_factory=dict)  # arn -> reason, code
    unhealthy_said: set[str] = field(default_factory=set)


class Scheduler:
    def __init__(self, runner: TaskRunner, routing: Routing, clock: Callable[[], float]) -> None:
        self.runner = runner
        self.routing = routing
        self.clock = clock
        self.books: dict[bridge.ServiceRef, Book] = {}

    def reconcile(self, finished: Iterable[TaskRun]) -> None:
        """One pass over every service; `finished` are runs that stopped since the last."""
        self._count_finished(finished)
        for service in bridge.services():
            try:
                self._service(service)
            except Exception:
                log.exception("scheduling service %s", service.ref.name)

    # --- one service -----------------------------------------------------------------------

    def _service(self, s: bridge.Service) -> None:
        book = self.books.setdefault(s.ref, Book())
        runs = self._runs(s.ref)
        if s.status != "ACTIVE":
            for run in runs:
                if run.live:
                    self._begin_stop(s, book, run, "Service deleted")
            self._advance_stops(s, book, runs)
            if not runs:
                self.books.pop(s.ref, None)
            return
        self._remember_completed(s, book)
        self._register_running(s, book, runs)
        self._stop_asked(s, book, runs)
        self._stop_unhealthy(s, book, runs)
        self._advance_stops(s, book, runs)
        s = self._circuit_breaker(s, book) or s
        primary = next((d for d in s.deployments if d.status == "PRIMARY"), None)
        if primary is None:
            return
        self._step(s, book, primary, self._runs(s.ref))
        self._report(s, book, primary, self._runs(s.ref))

    def _runs(self, ref: bridge.ServiceRef) -> list[TaskRun]:
        return [
            r
            for r in list(self.runner.runs.values())
            if r.service == ref.name
            and (r.ref.account, r.ref.region, r.ref.cluster)
            == (ref.account, ref.region, ref.cluster)
        ]

    def _remember_completed(self, s: bridge.Service, book: Book) -> None:
        if book.completed is None:
            done = next((d for d in s.deployments if d.rollout_state == "COMPLETED"), None)
            if done is not None:
                book.completed = (done.id, done.task_definition)

    # --- targets -----------------------------------------------------------------------------

    def _register_running(self, s: bridge.Service, book: Book, runs: list[TaskRun]) -> None:
        for run in runs:
            if not run.live or run.status != "RUNNING" or run.ref.arn in book.registered:
                continue
            targets = []
            for target in s.targets:
                port = run.host_port(target.container_name)
                if port is None or run.ip is None:
                    continue
                self.routing.register(target.target_group_arn, run.ip, port, target.container_port)
                targets.append((target.target_group_arn, run.ip))
                bridge.add_service_event(
                    s.ref,
                    f"(service {s.ref.name}) registered 1 targets in "
                    f"(target-group {target.target_group_arn})",
                )
            book.registered[run.ref.arn] = targets

    def _healthy(self, s: bridge.Service, book: Book, run: TaskRun) -> bool:
        if not run.live or run.status != "RUNNING":
            return False
        if run.checks_health and run.health_status != "HEALTHY":
            return False
        if not s.targets:
            return True
        targets = book.registered.get(run.ref.arn) or []
        if len(targets) < len(s.targets):
            return False
        states = [self.routing.state(tg, ip) for tg, ip in targets]
        return all(state is not None and state.state == "healthy" for state in states)

    def _stop_asked(self, s: bridge.Service, book: Book, runs: list[TaskRun]) -> None:
        """`stop-task` on a service's task: drained like any other, then replaced."""
        for run in runs:
            if run.live and run.ref.arn not in book.stopping:
                asked = bridge.task(run.ref)
                if asked is not None and asked.desired_status == "STOPPED":
                    reason = asked.stopped_reason or "Task stopped by user"
                    self._begin_stop(s, book, run, reason, rules.STOP_USER)

    def _stop_unhealthy(self, s: bridge.Service, book: Book, runs: list[TaskRun]) -> None:
        """ECS ignores ELB and container health during the grace period; after it, a task
        with an unhealthy target or essential container is replaced."""
        for run in runs:
            if not run.live or run.running_since is None:
                continue
            in_grace = self.clock() - run.running_since < s.grace_period_s
            if run.health_status == "UNHEALTHY" and not in_grace:
                run.failed = True
                self._count_failure(s.ref, book, run)
                self._begin_stop(s, book, run, FAILED_CHECKS)
                continue
            for tg, ip in book.registered.get(run.ref.arn, []):
                state = self.routing.state(tg, ip)
                if state is None or state.state != "unhealthy":
                    continue
                if run.ref.arn not in book.unhealthy_said:
                    book.unhealthy_said.add(run.ref.arn)
                    bridge.add_service_event(
                        s.ref,
                        f"(service {s.ref.name}) (task {run.id}) is unhealthy in "
                        f"(target-group {tg}) due to (reason {state.description or state.reason}).",
                    )
                if self.clock() - run.running_since >= s.grace_period_s:
                    run.failed = True
                    self._count_failure(s.ref, book, run)
                    self._begin_stop(
                        s, book, run, f"Task failed ELB health checks in (target-group {tg})"
                    )
                break

    # --- stopping: deregister, drain, stop ---------------------------------------------------

    def _begin_stop(
        self,
        s: bridge.Service,
        book: Book,
        run: TaskRun,
        reason: str,
        stop_code: str = rules.STOP_SCHEDULER,
    ) -> None:
        book.steady = False
        targets = book.registered.get(run.ref.arn, [])
        book.stopping[run.ref.arn] = (reason, stop_code)
        if not targets:
            self._stop(s, book, run, reason, stop_code)
            return
        self.runner.drain(run)
        bridge.add_service_event(
            s.ref, f"(service {s.ref.name}) has begun draining connections on 1 tasks."
        )
        for tg, ip in targets:
            self.routing.drain(tg, ip)
            bridge.add_service_event(
                s.ref, f"(service {s.ref.name}) deregistered 1 targets in (target-group {tg})"
            )

    def _advance_stops(self, s: bridge.Service, book: Book, runs: list[TaskRun]) -> None:
        for run in runs:
            stop = book.stopping.get(run.ref.arn)
            if stop is None or run.status != "DEACTIVATING":
                continue
            targets = book.registered.get(run.ref.arn, [])
            if all(self.routing.drained(tg, ip) for tg, ip in targets):
                self._stop(s, book, run, *stop)

    def _stop(
        self, s: bridge.Service, book: Book, run: TaskRun, reason: str, stop_code: str
    ) -> None:
        for tg, ip in book.registered.pop(run.ref.arn, []):
            self.routing.remove(tg, ip)
        book.stopping.pop(run.ref.arn, None)
        self.runner.stop(run, reason, stop_code, failed=run.failed)
        bridge.add_service_event(
            s.ref, f"(service {s.ref.name}) has stopped 1 running tasks: (task {run.id})."
        )

    # --- failures and the circuit breaker --------------------------------------------------

    def _count_finished(self, finished: Iterable[TaskRun]) -> None:
        for run in finished:
            for ref, book in self.books.items():
                if run.service == ref.name and run.ref.cluster == ref.cluster:
                    for tg, ip in book.registered.pop(run.ref.arn, []):
                        self.routing.remove(tg, ip)
                    book.stopping.pop(run.ref.arn, None)
                    if run.failed:
                        self._count_failure(ref, book, run)

    def _count_failure(self, ref: bridge.ServiceRef, book: Book, run: TaskRun) -> None:
        if run.ref.arn in book.counted or run.deployment is None:
            return
        book.counted.add(run.ref.arn)
        book.failures[run.deployment] = book.failures.get(run.deployment, 0) + 1
        bridge.set_deployment_state(ref, run.deployment, failed_tasks=book.failures[run.deployment])
        book.streak += 1
        delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (book.streak - 1))
        book.retry_at = self.clock() + delay

    def _circuit_breaker(self, s: bridge.Service, book: Book) -> bridge.Service | None:
        primary = next((d for d in s.deployments if d.status == "PRIMARY"), None)
        if primary is None or primary.rollout_state != "IN_PROGRESS" or not s.circuit_breaker:
            return None
        failed = book.failures.get(primary.id, 0)
        if failed < rules.circuit_breaker_threshold(s.desired_count):
            return None
        bridge.set_deployment_state(
            s.ref, primary.id, rollout_state="FAILED", reason=rules.BREAKER_REASON
        )
        bridge.add_service_event(
            s.ref,
            f"(service {s.ref.name}) (deployment {primary.id}) deployment failed: "
            "tasks failed to start.",
        )
        if s.rollback and book.completed and book.completed[1] != primary.task_definition:
            completed_id, task_definition = book.completed
            new = bridge.start_rollback(s.ref, task_definition)
            bridge.set_deployment_state(
                s.ref,
                new,
                reason="ECS deployment circuit breaker: rolling back to deploymentId "
                f"{completed_id}.",
            )
            bridge.add_service_event(
                s.ref, f"(service {s.ref.name}) rolling back to deployment {completed_id}."
            )
            book.streak, book.retry_at = 0, 0.0
        return bridge.service(s.ref)

    # --- the rolling step ----------------------------------------------------------------

    def _step(
        self, s: bridge.Service, book: Book, primary: bridge.Deployment, runs: list[TaskRun]
    ) -> None:
        mine = [r for r in runs if r.deployment == primary.id and r.live]
        old = [r for r in runs if r.deployment != primary.id and r.live]
        healthy = {r.ref.arn for r in runs if self._healthy(s, book, r)}
        limits = rules.bounds(s.desired_count, s.minimum_healthy_percent, s.maximum_percent)
        step = rules.rolling_step(
            s.desired_count,
            limits,
            primary_live=len(mine),
            primary_healthy=sum(r.ref.arn in healthy for r in mine),
            old_live=len(old),
            old_healthy=sum(r.ref.arn in healthy for r in old),
        )
        can_start = primary.rollout_state != "FAILED" and self.clock() >= book.retry_at
        if step.start and can_start:
            self._start(s, book, primary, step.start)
        if primary.rollout_state != "FAILED":
            reason = f"Scaling activity initiated by (deployment {primary.id})"
            for run in _unhealthy_first(old, healthy)[: step.stop_old]:
                self._begin_stop(s, book, run, reason)
        for run in _unhealthy_first(list(reversed(mine)), healthy)[: step.stop_surplus]:
            self._begin_stop(s, book, run, f"Scaling activity initiated by (service {s.ref.name})")

    def _start(self, s: bridge.Service, book: Book, primary: bridge.Deployment, count: int) -> None:
        book.steady = False
        started = []
        for _ in range(count):
            task = bridge.start_service_task(s.ref, primary.id, primary.task_definition)
            run = self.runner.launch(task, primary.id)
            started.append(run)
            if run.status == "STOPPED":
                break  # it failed to start: the back-off decides when to try again
            book.streak = 0
        names = " ".join(f"(task {r.id})" for r in started)
        bridge.add_service_event(
            s.ref, f"(service {s.ref.name}) has started {len(started)} tasks: {names}."
        )

    # --- what describe-services shows ----------------------------------------------------

    def _report(
        self, s: bridge.Service, book: Book, primary: bridge.Deployment, runs: list[TaskRun]
    ) -> None:
        counts: dict[str, tuple[int, int]] = {d.id: (0, 0) for d in s.deployments}
        for run in runs:
            if run.deployment not in counts or run.status == "STOPPED":
                continue
            running, pending = counts[run.deployment]
            if run.status in ("RUNNING", "DEACTIVATING"):
                running += 1
            elif run.status in ("PROVISIONING", "PENDING"):
                pending += 1
            counts[run.deployment] = (running, pending)
        bridge.set_counts(s.ref, counts)
        mine = [r for r in runs if r.deployment == primary.id and r.live]
        others = [r for r in runs if r.deployment != primary.id and r.status != "STOPPED"]
        settled = (
            len(mine) == s.desired_count
            and all(self._healthy(s, book, r) for r in mine)
            and not others
            and not book.stopping
        )
        if not settled:
            return
        if primary.rollout_state == "IN_PROGRESS":
            bridge.set_deployment_state(
                s.ref,
                primary.id,
                rollout_state="COMPLETED",
                reason=f"ECS deployment {primary.id} completed.",
            )
            bridge.add_service_event(
                s.ref, f"(service {s.ref.name}) (deployment {primary.id}) deployment completed."
            )
            book.completed = (primary.id, primary.task_definition)
            for d in s.deployments:
                if d.status != "PRIMARY":
                    bridge.remove_deployment(s.ref, d.id)
        if not book.steady:
            book.steady = True
            bridge.add_service_event(s.ref, f"(service {s.ref.name}) has reached a steady state.")


def _unhealthy_first(runs: list[TaskRun], healthy: set[str]) -> list[TaskRun]:
    return sorted(runs, key=lambda r: r.ref.arn in healthy)
