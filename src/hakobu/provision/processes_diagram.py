"""The processes beside web, the schedules and the bucket, added to `hakobu diagram`.

Each [processes.NAME] is drawn as its own node beside web's tasks (in the first zone's
task subnet: ECS spreads its tasks over the same subnets as web's), reaching what web's
tasks reach (the database, ECR, Secrets Manager, CloudWatch Logs, the way out), with no
edge from the load balancer. [[schedules]] add EventBridge Scheduler, which starts the
one-off scheduled task beside them; [storage] adds the S3 bucket every task may use.
Nothing of it is drawn without those sections.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hakobu.core.config import Environment
from hakobu.core.config.processes import workers
from hakobu.core.names import Names

SCHEDULER_ID, SCHEDULED_ID, STORAGE_ID = "Scheduler", "Scheduled", "Storage"
WEB_TASK = "ECS1"  # web's tasks in the first zone: what a worker is drawn beside


def node_id(process: str) -> str:
    """`worker` -> `Worker_worker`: Mermaid and Graphviz ids without hyphens."""
    return "Worker_" + process.replace("-", "_")


def with_processes(env: Environment, diagram: Any) -> Any:
    """`diagram` (a `provision.diagram.Diagram`) with the workers, schedules and bucket."""
    from hakobu.provision.diagram import Edge, Node

    settings = env.settings
    running = workers(env)
    if not running and not settings.schedules and not settings.storage.bucket:
        return diagram
    names = Names.of(env)
    # Graphviz keeps each node's row: workers on web's tasks' row, services on theirs.
    ranks = {item.id: getattr(item, "rank", 0) for item, _ in diagram.walk()}
    task_rank, managed_rank = ranks.get(WEB_TASK, 0), ranks.get("Logs", 0)
    platform = "ARM64" if settings.service.platform == "linux/arm64" else "x86_64"
    beside: list[Any] = []
    managed: list[Any] = []
    edges = list(diagram.edges)
    like_web = [e for e in diagram.edges if e.source == WEB_TASK]
    for name, process in running.items():
        count = process.desired_count
        lines = [
            f"ECS Fargate, {name} ×{count}" if count != 1 else f"ECS Fargate, {name}",
            f"{names.process(name)} in {names.cluster}",
            f"{process.cpu / 1024:g} vCPU, {process.memory} MiB, {platform}",
            " ".join(process.command or []),
        ]
        if process.spot:
            lines.append("Fargate Spot")
        beside.append(Node(node_id(name), tuple(lines), "compute", rank=task_rank))
        edges += [replace(edge, source=node_id(name)) for edge in like_web]
    if settings.schedules:
        timing = tuple(f"{s.name}: {s.expression} {s.timezone}" for s in settings.schedules)
        scheduler = ("EventBridge Scheduler", *timing)
        managed.append(Node(SCHEDULER_ID, scheduler, "managed", rank=managed_rank))
        lines = ("Scheduled task (one-off)", names.schedule_family, "the deployed release")
        beside.append(Node(SCHEDULED_ID, lines, "compute", rank=task_rank))
        edges.append(Edge(SCHEDULER_ID, SCHEDULED_ID, "RunTask on time", dashed=True))
        edges += [replace(edge, source=SCHEDULED_ID) for edge in like_web]
    if settings.storage.bucket:
        bucket = settings.storage.name or f"{env.prefix}-ACCOUNT-{env.region}"
        lines = ("S3 bucket", bucket, "private, encrypted, versioned, TLS only")
        managed.append(Node(STORAGE_ID, lines, "managed", rank=managed_rank))
        users = [WEB_TASK, *(node_id(name) for name in running)]
        edges += [Edge(user, STORAGE_ID, "uploads", dashed=True) for user in users]
    members = _placed(diagram.members, beside, managed)
    return replace(diagram, members=members, edges=tuple(edges))


def _placed(members: tuple[Any, ...], beside: list[Any], managed: list[Any]) -> tuple[Any, ...]:
    """Workers into the group holding web's first task, the rest into the managed box."""
    from hakobu.provision.diagram import Group

    placed = []
    for item in members:
        if isinstance(item, Group):
            extra: list[Any] = []
            if any(getattr(m, "id", None) == WEB_TASK for m in item.members):
                extra = beside
            elif item.kind == "services":
                extra = managed
            inner = _placed(item.members, beside, managed)
            item = replace(item, members=(*inner, *extra))
        placed.append(item)
    return tuple(placed)
