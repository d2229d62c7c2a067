"""The configured architecture as a small typed graph, written as Mermaid or Graphviz SVG.

`architecture(env)` is a pure function of the configuration. It draws what hakobu will
create, laid out like the guide's Mermaid flowchart (アーキテクチャ図): the VPC with its
public and private subnets per zone, the NAT Gateway(s) where the configuration puts
them, the ALB, the ECS tasks, the database, the managed services and the flows between
them. Names come from `Names`; what only the blueprint decides (which zones get a NAT
Gateway, the listeners, the VPC's and gateways' Name tags) is read from the rendered
Terraform itself, so the drawing cannot disagree with what `hakobu up` applies.

`to_mermaid` and `to_dot` only serialise the graph; `render_svg` is the one function that
runs a program (Graphviz's `dot`). Node ids are stable, like the guide's: User, IGW,
NAT1/NAT2 (by zone), ALB, ECS1/ECS2 (tasks by zone), DB, DBStandby, ECR, Secrets, Logs;
subgraphs VPC, PublicAZ1/2, PrivateAZ1/2, AWS.
"""

from __future__ import annotations

import html
import itertools
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from hakobu.core.config import Environment
from hakobu.core.engines import SERVERLESS_CLASS
from hakobu.core.engines import engine as engine_facts
from hakobu.core.errors import HakobuError, PreflightError
from hakobu.core.managed_secrets import uses_django_key, uses_master_key
from hakobu.core.names import Names
from hakobu.provision.blueprint import render
from hakobu.provision.blueprint.document import ref
from hakobu.provision.blueprint.network import subnet_address
from hakobu.provision.edge_diagram import with_edge
from hakobu.provision.processes_diagram import with_processes

Kind = Literal[
    "user", "gateway", "compute", "database", "standby", "managed",
    "vpc", "public", "private", "services",
]  # fmt: skip
Shape = Literal["box", "stadium", "cylinder"]

# The guide's colours, per kind of node; the VPC and the services box are left plain as
# in the guide, only outlined.
FILLS: dict[Kind, str] = {
    "user": "#e1f5ff",
    "gateway": "#ff9999",
    "compute": "#99ccff",
    "database": "#99ff99",
    "standby": "#ccffcc",
    "managed": "#ffcc99",
    "public": "#ffe0e0",
    "private": "#e0f0ff",
}
# What the tasks' arrow to the database says: the protocol, whatever the engine.
PROTOCOLS = {"mysql": "MySQL", "postgres": "PostgreSQL"}
DOT_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Node:
    id: str
    lines: tuple[str, ...]  # the first line is the title, the rest details
    kind: Kind
    shape: Shape = "box"
    # The row the node sits on, top to bottom, as in the guide. Graphviz keeps it (it
    # would otherwise rank by edge direction, and the way out through NAT points back
    # up); Mermaid lays out by itself.
    rank: int = 0


@dataclass(frozen=True)
class Group:
    id: str
    lines: tuple[str, ...]
    kind: Kind
    members: tuple[Node | Group, ...] = ()
    rank: int = 0  # where an empty group is drawn


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""
    dashed: bool = False


@dataclass(frozen=True)
class Diagram:
    title: str
    members: tuple[Node | Group, ...]
    edges: tuple[Edge, ...]

    def walk(self) -> Iterator[tuple[Node | Group, tuple[Group, ...]]]:
        """Every node and group, depth first, with the groups that contain it."""
        yield from _walk(self.members, ())


def _walk(
    members: tuple[Node | Group, ...], groups: tuple[Group, ...]
) -> Iterator[tuple[Node | Group, tuple[Group, ...]]]:
    for item in members:
        yield item, groups
        if isinstance(item, Group):
            yield from _walk(item.members, (*groups, item))


# --- the architecture -------------------------------------------------------------------


@dataclass(frozen=True)
class _Parts:
    """The nodes that sit in subnets, keyed by zone index, and the row of each tier."""

    rows: dict[str, int]
    nats: dict[int, Node]
    tasks: dict[int, Node]
    databases: dict[int, Node]


def architecture(env: Environment) -> Diagram:
    """The environment's stack as hakobu would create it."""
    resources: dict[str, dict[str, Any]] = render(env)["resource"]
    rows = _rows(env)
    parts = _Parts(
        rows, _nat_gateways(env, resources, rows), _tasks(env, rows), _databases(env, rows)
    )
    vpc = resources["aws_vpc"]["main"]
    igw = resources["aws_internet_gateway"]["main"]
    inside = (
        Node("IGW", ("Internet Gateway", igw["tags"]["Name"]), "gateway", rank=rows["igw"]),
        *_subnets(env, "public", parts),
        _load_balancer(env, resources, rows["alb"]),
        *_subnets(env, "private", parts),
    )
    drawn = Diagram(
        title=_title(env),
        members=(
            Node("User", ("User",), "user", "stadium", rank=rows["user"]),
            Group("VPC", ("VPC " + vpc["cidr_block"], vpc["tags"]["Name"]), "vpc", inside),
            Group("AWS", ("AWS managed services",), "services", _managed(env, rows["managed"])),
        ),
        edges=_edges(env, resources, parts),
    )
    drawn = with_processes(env, drawn)  # [processes.NAME], [[schedules]], [storage]
    return with_edge(env, drawn, resources)  # [domain], [autoscaling], [alarms]


def _rows(env: Environment) -> dict[str, int]:
    """The guide's rows: the ALB beside the public subnets, the private ones below, the
    managed services under the tasks that call them. Tasks in public subnets push those
    subnets a row down, under the ALB; a DB that shares a subnet with tasks goes below them.
    """
    public_tasks = env.settings.service.public_ip
    private = 4 if public_tasks else 3
    beside = not public_tasks and set(_tasks_per_zone(env)) & set(_database_zones(env))
    return {
        "user": 0,
        "igw": 1,
        "alb": 2,
        "public": 3 if public_tasks else 2,
        "tasks": 3,
        "private": private,
        "database": private + 1 if beside else private,
        "managed": 4,
    }


def _task_tier(env: Environment) -> str:
    return "public" if env.settings.service.public_ip else "private"


def _title(env: Environment) -> str:
    profile = env.settings.profile or "none (defaults)"
    return f"{env.app} ({env.name}) in {env.region}, profile: {profile}"


def _subnets(env: Environment, tier: str, parts: _Parts) -> list[Group]:
    network = env.settings.network
    cidrs = network.public_subnets if tier == "public" else network.private_subnets
    heading = "Public subnet" if tier == "public" else "Private subnet"
    kind: Kind = "public" if tier == "public" else "private"
    groups = []
    for index, (zone, cidr) in enumerate(zip(network.availability_zones, cidrs, strict=True)):
        groups.append(
            Group(
                f"{tier.title()}AZ{index + 1}",
                (f"{heading} AZ-{zone}", cidr),
                kind,
                _members_in(env, tier, index, parts),
                rank=parts.rows[tier],
            )
        )
    return groups


def _members_in(env: Environment, tier: str, index: int, parts: _Parts) -> tuple[Node, ...]:
    """What sits in one subnet: NATs in public ones, tasks where the service puts them."""
    members: list[Node] = []
    if tier == "public" and index in parts.nats:
        members.append(parts.nats[index])
    if tier == _task_tier(env) and index in parts.tasks:
        members.append(parts.tasks[index])
    if tier == "private" and index in parts.databases:
        members.append(parts.databases[index])
    return tuple(members)


def _nat_gateways(
    env: Environment, resources: dict[str, Any], rows: dict[str, int]
) -> dict[int, Node]:
    """The NAT Gateways the blueprint creates, by the zone of the subnet each sits in."""
    zones = env.settings.network.availability_zones
    by_subnet = {ref(subnet_address("public", zone)): index for index, zone in enumerate(zones)}
    nats = {}
    for body in resources.get("aws_nat_gateway", {}).values():
        index = by_subnet[body["subnet_id"]]
        lines = ("NAT Gateway", body["tags"]["Name"], "+ Elastic IP")
        nats[index] = Node(f"NAT{index + 1}", lines, "gateway", rank=rows["public"])
    return dict(sorted(nats.items()))


def _tasks(env: Environment, rows: dict[str, int]) -> dict[int, Node]:
    return {
        index: Node(f"ECS{index + 1}", _task_lines(env, tasks), "compute", rank=rows["tasks"])
        for index, tasks in _tasks_per_zone(env).items()
    }


def _tasks_per_zone(env: Environment) -> dict[int, int]:
    """ECS spreads a service's tasks evenly over its subnets' zones. A service scaled to
    zero still exists: it is drawn, empty, in the first zone."""
    count = env.settings.service.desired_count
    zones = len(env.settings.network.availability_zones)
    if count == 0:
        return {0: 0}
    spread = {i: count // zones + (1 if i < count % zones else 0) for i in range(zones)}
    return {index: tasks for index, tasks in spread.items() if tasks > 0}


def _task_lines(env: Environment, tasks: int) -> tuple[str, ...]:
    names = Names.of(env)
    settings = env.settings.service
    title = {0: "ECS Fargate, 0 tasks", 1: "ECS Fargate task"}.get(
        tasks, f"ECS Fargate tasks ×{tasks}"
    )
    architecture = "ARM64" if settings.platform == "linux/arm64" else "x86_64"
    lines = [
        title,
        f"{names.service} in {names.cluster}",
        f"{settings.cpu / 1024:g} vCPU, {settings.memory} MiB, {architecture}",
    ]
    if settings.spot:
        on_demand = f", first {settings.spot_base} on demand" if settings.spot_base else ""
        lines.append(f"Fargate Spot{on_demand}")
    if settings.public_ip:
        lines.append("public IP, reachable only from the ALB")
    return tuple(lines)


def _database_zones(env: Environment) -> tuple[int, ...]:
    # RDS picks the zone; a single instance is drawn where the guide draws it, in the
    # second zone, and a Multi-AZ pair as the primary in the first, the standby in the second.
    # Aurora's writer is placed in the first zone (its reader in the second) by hakobu.
    if engine_facts(env.settings.database.engine).aurora:
        return (0, 1) if env.settings.database.multi_az else (0,)
    return (0, 1) if env.settings.database.multi_az else (1,)


def _databases(env: Environment, rows: dict[str, int]) -> dict[int, Node]:
    settings = env.settings.database
    names = Names.of(env)
    facts = engine_facts(settings.engine)
    if facts.aurora:
        return _aurora(env, rows["database"])
    engine = f"RDS {facts.label} {settings.engine_version}"
    details = (names.db_instance, f"{settings.instance_class}, {settings.allocated_storage} GB gp3")
    rank = rows["database"]
    if not settings.multi_az:
        return {1: Node("DB", (engine, *details), "database", "cylinder", rank)}
    standby = (f"{engine} standby", names.db_instance, "Multi-AZ, synchronous copy")
    return {
        0: Node("DB", (f"{engine} primary", *details), "database", "cylinder", rank),
        1: Node("DBStandby", standby, "standby", "cylinder", rank),
    }


def _aurora(env: Environment, rank: int) -> dict[int, Node]:
    """The guide's diagram draws an Aurora cluster: its writer, and with `ha` a reader in
    the other zone on the same cluster volume (the failover target)."""
    settings = env.settings.database
    names = Names.of(env)
    facts = engine_facts(settings.engine)
    size = settings.instance_class
    if settings.instance_class == SERVERLESS_CLASS:
        size += f", Serverless v2 {settings.min_capacity:g}-{settings.max_capacity:g} ACUs"
    writer = (
        f"{facts.label} {settings.engine_version} cluster",
        names.db_cluster,
        f"writer {names.db_cluster_instance(1)}",
        size,
    )
    nodes = {0: Node("DB", writer, "database", "cylinder", rank)}
    if settings.multi_az:
        reader = (f"{facts.label} reader", names.db_cluster_instance(2), "failover target")
        nodes[1] = Node("DBStandby", reader, "standby", "cylinder", rank)
    return nodes


def _load_balancer(env: Environment, resources: dict[str, Any], rank: int) -> Node:
    names = Names.of(env)
    lines = (
        "Application Load Balancer",
        names.load_balancer,
        f"{_listeners(resources)} → {names.target_group}",
    )
    return Node("ALB", lines, "gateway", rank=rank)


def _listeners(resources: dict[str, Any]) -> str:
    listeners = resources["aws_lb_listener"].values()
    return ", ".join(f"{body['protocol']} :{body['port']}" for body in listeners)


def _managed(env: Environment, rank: int) -> tuple[Node, ...]:
    names = Names.of(env)
    secrets = [names.db_password_secret]
    if uses_master_key(env):
        secrets.append(names.master_key_secret)
    if uses_django_key(env):
        secrets.append(names.django_secret_key_secret)
    keep = env.settings.registry.keep_images
    days = env.settings.logs.retention_days
    services = (
        ("ECR", ("ECR repository", names.repository, f"keeps {keep} images")),
        ("Secrets", ("Secrets Manager", *secrets)),
        ("Logs", ("CloudWatch Logs", names.log_group, f"kept {days} days")),
    )
    return tuple(Node(node_id, lines, "managed", rank=rank) for node_id, lines in services)


def _edges(env: Environment, resources: dict[str, Any], parts: _Parts) -> tuple[Edge, ...]:
    names = Names.of(env)
    port = env.settings.service.port
    edges = [Edge("User", "IGW", _listeners(resources)), Edge("IGW", "ALB")]
    for index, task in parts.tasks.items():
        edges.append(Edge("ALB", task.id, f"{names.target_group} :{port}"))
        edges.append(_way_out(env, index, task, parts))
    edges += [Edge(nat.id, "IGW") for nat in parts.nats.values()]
    facts = engine_facts(env.settings.database.engine)
    for task in parts.tasks.values():
        edges += [
            Edge(task.id, "DB", f"{PROTOCOLS[facts.family]} {facts.port}/TCP", dashed=True),
            Edge(task.id, "ECR", "image pull", dashed=True),
            Edge(task.id, "Secrets", "secrets at start", dashed=True),
            Edge(task.id, "Logs", "logs", dashed=True),
        ]
    if env.settings.database.multi_az:
        copy = "shared cluster volume" if facts.aurora else "replication"
        edges.append(Edge("DB", "DBStandby", copy, dashed=True))
    return tuple(edges)


def _way_out(env: Environment, index: int, task: Node, parts: _Parts) -> Edge:
    """Tasks with a public IP leave through the Internet Gateway, others through a NAT:
    their own zone's when there is one per zone, else the single one."""
    if env.settings.service.public_ip or not parts.nats:
        return Edge(task.id, "IGW", "outbound, public IP")
    nat = parts.nats.get(index) or next(iter(parts.nats.values()))
    return Edge(task.id, nat.id, "outbound")


# --- Mermaid ----------------------------------------------------------------------------

_MERMAID_SHAPES: dict[Shape, tuple[str, str]] = {
    "box": ("[", "]"),
    "stadium": ("([", "])"),
    "cylinder": ("[(", ")]"),
}


def to_mermaid(diagram: Diagram) -> str:
    """A Mermaid flowchart, top to bottom like the guide's, with its colours."""
    # The front matter is YAML; a JSON string is valid YAML, whatever the title holds.
    title = json.dumps(diagram.title, ensure_ascii=False)
    lines = ["---", f"title: {title}", "---", "flowchart TB"]
    for item in diagram.members:
        lines += _mermaid_item(item, depth=1)
    lines.append("")
    for edge in diagram.edges:
        arrow = "-.->" if edge.dashed else "-->"
        label = f'|"{_mermaid_text(edge.label)}"|' if edge.label else ""
        lines.append(f"    {edge.source} {arrow}{label} {edge.target}")
    lines.append("")
    for item, _ in diagram.walk():
        if item.kind in FILLS:
            lines.append(f"    style {item.id} fill:{FILLS[item.kind]}")
    return "\n".join(lines) + "\n"


def _mermaid_item(item: Node | Group, depth: int) -> list[str]:
    indent = "    " * depth
    label = _mermaid_text("<br/>".join(item.lines), keep_breaks=True)
    if isinstance(item, Node):
        opening, closing = _MERMAID_SHAPES[item.shape]
        return [f'{indent}{item.id}{opening}"{label}"{closing}']
    lines = [f'{indent}subgraph {item.id}["{label}"]']
    for member in item.members:
        lines += _mermaid_item(member, depth + 1)
    return [*lines, f"{indent}end"]


def _mermaid_text(text: str, keep_breaks: bool = False) -> str:
    """Mermaid's entity codes for the characters that would end a quoted label."""
    escaped = text.replace("#", "#35;").replace('"', "#quot;")
    escaped = escaped.replace("<", "#lt;").replace(">", "#gt;")
    return escaped.replace("#lt;br/#gt;", "<br/>") if keep_breaks else escaped


# --- Graphviz ---------------------------------------------------------------------------

_DOT_SHAPES: dict[Shape, str] = {
    "box": 'shape=box, style="filled"',
    "stadium": 'shape=box, style="rounded,filled"',
    "cylinder": 'shape=cylinder, style="filled"',
}
_DOT_HEADER = """\
digraph architecture {
    graph [fontname="Helvetica", fontsize=13, labelloc=t, newrank=true,
           nodesep=0.35, ranksep=0.55, pad=0.3];
    node [fontname="Helvetica", fontsize=10, margin="0.12,0.06", color="#555555"];
    edge [fontname="Helvetica", fontsize=9, color="#444444", fontcolor="#333333"];
"""


def to_dot(diagram: Diagram) -> str:
    """The same graph for Graphviz: groups become clusters, dashed edges stay dashed, and
    every node keeps its row."""
    lines = [_DOT_HEADER + f"    label=<<B>{_html(diagram.title)}</B>>;"]
    for item in diagram.members:
        lines += _dot_item(item, depth=1)
    lines += _dot_rows(diagram)
    ranks = _ranks(diagram)
    labelled: set[tuple[str, str]] = set()
    for edge in diagram.edges:
        # Several tasks reach the same service for the same reason: one label says it.
        if (edge.target, edge.label) in labelled:
            edge = Edge(edge.source, edge.target, "", edge.dashed)
        labelled.add((edge.target, edge.label))
        lines.append(_dot_edge(edge, ranks))
    return "\n".join([*lines, "}"]) + "\n"


def _ranks(diagram: Diagram) -> dict[str, int]:
    """The row of every drawn point: nodes, and the placeholders of empty groups."""
    ranks = {}
    for item, _ in diagram.walk():
        if isinstance(item, Node):
            ranks[item.id] = item.rank
        elif not item.members:
            ranks[_placeholder(item)] = item.rank
    return ranks


def _dot_rows(diagram: Diagram) -> list[str]:
    """Pin each row (`rank=same`) and chain the rows with invisible edges, top to bottom."""
    rows: dict[int, list[str]] = {}
    for point, rank in _ranks(diagram).items():
        rows.setdefault(rank, []).append(point)
    ordered = [rows[rank] for rank in sorted(rows)]
    lines = [f"    {{rank=same; {'; '.join(points)};}}" for points in ordered]
    for upper, lower in itertools.pairwise(ordered):
        lines.append(f"    {upper[0]} -> {lower[0]} [style=invis];")
    return lines


def _dot_edge(edge: Edge, ranks: dict[str, int]) -> str:
    attributes = [f'label=" {_html(edge.label)} "'] if edge.label else []
    if edge.dashed:
        attributes.append("style=dashed")
    source, target = edge.source, edge.target
    if ranks[source] > ranks[target]:
        # A flow back up (tasks -> NAT -> IGW): drawn reversed so it does not fight the
        # rows, with its arrow still at the real target.
        source, target = target, source
        attributes.append("dir=back")
    return f"    {source} -> {target} [{', '.join(attributes)}];"


def _dot_item(item: Node | Group, depth: int) -> list[str]:
    indent = "    " * depth
    label = _dot_label(item.lines)
    fill = FILLS.get(item.kind, "#ffffff")
    if isinstance(item, Node):
        shape = _DOT_SHAPES[item.shape]
        return [f'{indent}{item.id} [label={label}, {shape}, fillcolor="{fill}"];']
    # Plain groups (the VPC, the services) are outlined only, as the guide leaves them.
    style = '"rounded,filled"' if item.kind in FILLS else '"rounded,dashed"'
    lines = [
        f"{indent}subgraph cluster_{item.id} {{",
        f'{indent}    label={label}; style={style}; fillcolor="{fill}"; color="#777777";',
        f"{indent}    fontsize=11;",
    ]
    for member in item.members:
        lines += _dot_item(member, depth + 1)
    if not item.members:
        # An empty cluster is dropped by dot; an invisible point keeps the subnet drawn.
        lines.append(f"{indent}    {_placeholder(item)} [shape=point, style=invis];")
    return [*lines, f"{indent}}}"]


def _placeholder(group: Group) -> str:
    return f"{group.id}_empty"


def _dot_label(lines: tuple[str, ...]) -> str:
    title, *details = lines
    rest = "".join(f'<BR/><FONT POINT-SIZE="9">{_html(line)}</FONT>' for line in details)
    return f"<<B>{_html(title)}</B>{rest}>"


def _html(text: str) -> str:
    return html.escape(text, quote=True)


def render_svg(diagram: Diagram) -> str:
    """Lay the graph out with Graphviz's `dot` (no browser needed) and return the SVG."""
    dot = shutil.which("dot")
    if dot is None:
        raise PreflightError(
            "Graphviz's `dot` is not installed; it draws the SVG",
            "install Graphviz (`sudo apt-get install graphviz` on Debian/Ubuntu, "
            "`brew install graphviz` on macOS), or use --format mermaid",
        )
    result = subprocess.run(
        [dot, "-Tsvg"],
        input=to_dot(diagram),
        capture_output=True,
        text=True,
        timeout=DOT_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise HakobuError(
            f"Graphviz failed to draw the diagram: {result.stderr.strip()}",
            "use --format mermaid meanwhile, and report this with `dot -V`'s output",
        )
    return result.stdout
