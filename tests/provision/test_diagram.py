"""`hakobu diagram`: the Mermaid text is well formed and names every resource the
configuration creates (checked against the rendered Terraform), per profile; the SVG
renders with Graphviz; the command's formats, --profile and errors."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hakobu.core.config import Environment
from hakobu.provision.blueprint import render
from hakobu.provision.diagram import Diagram, Node, architecture, render_svg, to_dot, to_mermaid
from tests.conftest import Run, environment_of, make_rails_app

DOCS = Path(__file__).resolve().parents[2] / "docs"
REGENERATE = (
    "in a Rails app named rails-app with the hakobu.toml of `hakobu init` (as "
    "tests.conftest.make_rails_app makes), run `hakobu diagram -o docs/architecture.mmd` "
    "and `hakobu diagram -o docs/architecture.svg`, with this repository's docs/ as target"
)

# --- a small structural parser for the Mermaid subset hakobu writes ----------------------

ID = r"[A-Za-z][A-Za-z0-9_]*"
# Words Mermaid reads as keywords: an id spelled like one breaks the chart.
RESERVED = {"end", "subgraph", "graph", "flowchart", "style", "class", "classDef", "click"}
SHAPES = {"[": "]", "([": "])", "[(": ")]", "(": ")"}
NODE = re.compile(rf'^(?P<id>{ID})(?P<open>\(\[|\[\(|\[|\()"(?P<label>[^"]*)"(?P<close>\S+)$')
SUBGRAPH = re.compile(rf'^subgraph (?P<id>{ID})\["(?P<label>[^"]*)"\]$')
EDGE = re.compile(
    rf'^(?P<source>{ID}) (?P<arrow>-->|-\.->)(?:\|"(?P<label>[^"]*)"\|)? (?P<target>{ID})$'
)
STYLE = re.compile(rf"^style (?P<id>{ID}) fill:#[0-9a-fA-F]{{6}}$")


@dataclass
class Declared:
    label: str
    parents: tuple[str, ...]
    shape: str = ""

    @property
    def lines(self) -> list[str]:
        return self.label.split("<br/>")


@dataclass
class Chart:
    nodes: dict[str, Declared] = field(default_factory=dict)
    subgraphs: dict[str, Declared] = field(default_factory=dict)
    edges: list[tuple[str, str, str, bool]] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(d.label for d in [*self.nodes.values(), *self.subgraphs.values()])

    def edge(self, source: str, target: str) -> tuple[str, bool]:
        matches = [
            (label, dashed) for s, t, label, dashed in self.edges if (s, t) == (source, target)
        ]
        assert len(matches) == 1, f"expected one edge {source} -> {target}, got {matches}"
        return matches[0]

    def ids(self, prefix: str) -> list[str]:
        return sorted(node for node in self.nodes if re.fullmatch(rf"{prefix}\d*", node))


class _Reader:
    """Reads the chart line by line; any line it does not understand is an error."""

    def __init__(self) -> None:
        self.chart = Chart()
        self.open: list[str] = []
        self.styled: list[str] = []

    def declare(self, number: int, node_id: str, into: dict[str, Declared], item: Declared) -> None:
        assert node_id not in RESERVED, f"line {number}: id {node_id!r} is a Mermaid keyword"
        known = self.chart.nodes.keys() | self.chart.subgraphs.keys()
        assert node_id not in known, f"line {number}: id {node_id!r} declared twice"
        into[node_id] = item

    def line(self, number: int, line: str) -> None:
        if line == "end":
            assert self.open, f"line {number}: `end` without a subgraph"
            self.open.pop()
        elif match := SUBGRAPH.match(line):
            item = Declared(match["label"], tuple(self.open))
            self.declare(number, match["id"], self.chart.subgraphs, item)
            self.open.append(match["id"])
        elif match := EDGE.match(line):
            dashed = match["arrow"] == "-.->"
            self.chart.edges.append(
                (match["source"], match["target"], match["label"] or "", dashed)
            )
        elif match := STYLE.match(line):
            self.styled.append(match["id"])
        elif match := NODE.match(line):
            assert SHAPES[match["open"]] == match["close"], f"line {number}: shape not closed"
            item = Declared(match["label"], tuple(self.open), match["open"])
            self.declare(number, match["id"], self.chart.nodes, item)
        else:
            raise AssertionError(f"line {number}: not understood: {line!r}")


def parse_mermaid(text: str) -> Chart:
    """Check the chart's structure and return what it declares."""
    lines = text.splitlines()
    if lines and lines[0] == "---":  # front matter (the title), up to the next ---
        lines = lines[lines.index("---", 1) + 1 :]
    assert lines and lines[0] == "flowchart TB", f"not a top-down flowchart: {lines[:1]}"
    reader = _Reader()
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.strip()
        if line and not line.startswith("%%"):
            reader.line(number, line)
    chart = reader.chart
    assert not reader.open, f"subgraphs never closed with `end`: {reader.open}"
    for source, target, _, _ in chart.edges:
        assert source in chart.nodes, f"edge from undeclared node {source!r}"
        assert target in chart.nodes, f"edge to undeclared node {target!r}"
    unknown = set(reader.styled) - chart.nodes.keys() - chart.subgraphs.keys()
    assert not unknown, f"styles for undeclared ids {unknown}"
    return chart


# --- helpers ----------------------------------------------------------------------------


def _env(**raw: Any) -> Environment:
    return environment_of({"app": "rails-app", "framework": "rails", **raw})


def _chart(env: Environment) -> Chart:
    return parse_mermaid(to_mermaid(architecture(env)))


def _tasks_in(label: str) -> int:
    title = label.split("<br/>")[0]
    if match := re.search(r"×(\d+)$", title):
        return int(match[1])
    if match := re.search(r"(\d+) tasks$", title):
        return int(match[1])
    assert title == "ECS Fargate task", title
    return 1


def _subnet_group(resource_name: str, env: Environment) -> str:
    """`public_c` -> `PublicAZ2`: the subgraph drawing that Terraform subnet."""
    tier, zone = resource_name.split("_")
    index = env.settings.network.availability_zones.index(zone) + 1
    return f"{tier.title()}AZ{index}"


PROFILES = [None, "guide", "lean", "ha"]

# --- the checker itself must reject broken charts ----------------------------------------


@pytest.mark.parametrize(
    ("broken", "complaint"),
    [
        ('flowchart TB\n    subgraph A["a"]\n    B["b"]\n', "never closed"),
        ('flowchart TB\n    B["b"]\n    end\n', "without a subgraph"),
        ('flowchart TB\n    B["b"]\n    B --> C\n', "undeclared node 'C'"),
        ('flowchart TB\n    B["b"]\n    B["again"]\n', "declared twice"),
        ('flowchart TB\n    end["b"]\n', "is a Mermaid keyword"),
        ('flowchart TB\n    9B["b"]\n', "not understood"),
        ('flowchart TB\n    B[("b"]\n', "shape not closed"),
        ('flowchart TB\n    B["b"]\n    style C fill:#ffffff\n', "undeclared ids"),
    ],
)
def test_the_structural_check_rejects_broken_charts(broken: str, complaint: str) -> None:
    with pytest.raises(AssertionError, match=complaint):
        parse_mermaid(broken)


# --- every profile: well formed, and every created resource named ------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_mermaid_is_well_formed_and_follows_the_guides_shape(profile: str | None) -> None:
    env = _env(**({"profile": profile} if profile else {}))
    chart = _chart(env)
    for fixed in ("User", "IGW", "ALB", "DB", "ECR", "Secrets", "Logs"):
        assert fixed in chart.nodes
    assert chart.subgraphs.keys() == {
        "VPC", "PublicAZ1", "PublicAZ2", "PrivateAZ1", "PrivateAZ2", "AWS",
    }  # fmt: skip
    assert chart.nodes["IGW"].parents == ("VPC",)
    assert chart.nodes["ALB"].parents == ("VPC",)
    assert all(chart.nodes[n].parents == ("AWS",) for n in ("ECR", "Secrets", "Logs"))
    assert chart.edge("User", "IGW") == ("HTTP :80", False)
    assert chart.edge("IGW", "ALB") == ("", False)
    assert chart.nodes["DB"].shape == "[("  # a cylinder, as the guide draws Aurora


@pytest.mark.parametrize("profile", PROFILES)
def test_mermaid_names_every_resource_the_terraform_creates(profile: str | None) -> None:
    env = _env(**({"profile": profile} if profile else {}))
    resources = render(env)["resource"]
    chart = _chart(env)
    text = chart.text()
    names = [
        resources["aws_vpc"]["main"]["tags"]["Name"],
        resources["aws_vpc"]["main"]["cidr_block"],
        resources["aws_internet_gateway"]["main"]["tags"]["Name"],
        resources["aws_lb"]["main"]["name"],
        resources["aws_lb_target_group"]["app"]["name"],
        resources["aws_ecs_cluster"]["main"]["name"],
        resources["aws_ecs_service"]["app"]["name"],
        resources["aws_db_instance"]["main"]["identifier"],
        resources["aws_ecr_repository"]["app"]["name"],
        resources["aws_cloudwatch_log_group"]["app"]["name"],
        *(secret["name"] for secret in resources["aws_secretsmanager_secret"].values()),
        *(nat["tags"]["Name"] for nat in resources.get("aws_nat_gateway", {}).values()),
    ]
    missing = [name for name in names if name not in text]
    assert not missing, f"the diagram does not name {missing}"
    # Every subnet, by CIDR, in the subgraph of its tier and zone.
    for name, subnet in resources["aws_subnet"].items():
        group = chart.subgraphs[_subnet_group(name, env)]
        assert subnet["cidr_block"] in group.lines, (name, group.label)
    _assert_nat_gateways(chart, env, resources)
    _assert_service(chart, env, resources)
    _assert_database(chart, resources)


def _assert_nat_gateways(chart: Chart, env: Environment, resources: dict[str, Any]) -> None:
    nats = resources.get("aws_nat_gateway", {})
    assert len(chart.ids("NAT")) == len(nats) == len(resources.get("aws_eip", {}))
    for nat in nats.values():
        subnet = nat["subnet_id"].split(".")[1]  # ${aws_subnet.public_a.id}
        drawn = [n for n in chart.ids("NAT") if nat["tags"]["Name"] in chart.nodes[n].lines]
        assert len(drawn) == 1
        assert chart.nodes[drawn[0]].parents == ("VPC", _subnet_group(subnet, env))
        assert chart.edge(drawn[0], "IGW") == ("", False)


def _assert_service(chart: Chart, env: Environment, resources: dict[str, Any]) -> None:
    service = resources["aws_ecs_service"]["app"]
    tasks = chart.ids("ECS")
    assert sum(_tasks_in(chart.nodes[t].label) for t in tasks) == service["desired_count"]
    network = service["network_configuration"]["subnets"]
    subnets = {_subnet_group(subnet.split(".")[1], env) for subnet in network}
    target_group = resources["aws_lb_target_group"]["app"]["name"]
    port = service["load_balancer"][0]["container_port"]
    for task in tasks:
        assert chart.nodes[task].parents[-1] in subnets
        assert chart.edge("ALB", task) == (f"{target_group} :{port}", False)
        assert chart.edge(task, "DB") == ("MySQL 3306/TCP", True)
        for managed in ("ECR", "Secrets", "Logs"):
            assert chart.edge(task, managed)[1] is True, "calls to AWS services are dashed"


def _assert_database(chart: Chart, resources: dict[str, Any]) -> None:
    db = resources["aws_db_instance"]["main"]
    first_line = chart.nodes["DB"].lines[0]
    assert first_line.startswith(f"RDS MySQL {db['engine_version']}")
    assert f"{db['instance_class']}, {db['allocated_storage']} GB gp3" in chart.nodes["DB"].lines
    assert ("DBStandby" in chart.nodes) is db["multi_az"]


# --- per profile: what the picture promises ----------------------------------------------


def test_guide_profile_one_nat_in_zone_a_and_private_tasks() -> None:
    chart = _chart(_env(profile="guide"))
    assert chart.ids("NAT") == ["NAT1"]
    assert chart.nodes["NAT1"].parents == ("VPC", "PublicAZ1")
    assert [n for n, d in chart.nodes.items() if d.parents[-1:] == ("PublicAZ2",)] == []
    assert chart.ids("ECS") == ["ECS1"]
    assert chart.nodes["ECS1"].parents == ("VPC", "PrivateAZ1")
    assert chart.edge("ECS1", "NAT1") == ("outbound", False)
    assert chart.nodes["DB"].parents == ("VPC", "PrivateAZ2")  # where the guide draws it
    assert "db.t3.micro, 20 GB gp3" in chart.nodes["DB"].lines
    assert "0.25 vCPU, 512 MiB, x86_64" in chart.nodes["ECS1"].lines


def test_lean_profile_no_nat_and_tasks_in_public_subnets() -> None:
    chart = _chart(_env(profile="lean"))
    assert chart.ids("NAT") == []
    assert chart.nodes["ECS1"].parents == ("VPC", "PublicAZ1")
    assert "public IP, reachable only from the ALB" in chart.nodes["ECS1"].lines
    assert "0.25 vCPU, 512 MiB, ARM64" in chart.nodes["ECS1"].lines
    # With a public IP the way out is the Internet Gateway itself.
    assert chart.edge("ECS1", "IGW") == ("outbound, public IP", False)
    assert chart.nodes["DB"].parents == ("VPC", "PrivateAZ2")


def test_ha_profile_two_nats_two_tasks_and_a_standby() -> None:
    chart = _chart(_env(profile="ha"))
    assert chart.ids("NAT") == ["NAT1", "NAT2"]
    assert chart.nodes["NAT2"].parents == ("VPC", "PublicAZ2")
    assert chart.ids("ECS") == ["ECS1", "ECS2"]
    assert [_tasks_in(chart.nodes[t].label) for t in ("ECS1", "ECS2")] == [1, 1]
    # Each zone's tasks leave through their own zone's NAT Gateway.
    assert chart.edge("ECS1", "NAT1") == ("outbound", False)
    assert chart.edge("ECS2", "NAT2") == ("outbound", False)
    assert chart.nodes["DB"].parents == ("VPC", "PrivateAZ1")
    assert chart.nodes["DBStandby"].parents == ("VPC", "PrivateAZ2")
    assert chart.nodes["DB"].lines[0].endswith("primary")
    assert chart.edge("DB", "DBStandby") == ("replication", True)


def test_one_nat_with_tasks_in_both_zones_is_shared_across_zones() -> None:
    chart = _chart(_env(service={"desired_count": 3}))
    assert [_tasks_in(chart.nodes[t].label) for t in chart.ids("ECS")] == [2, 1]
    assert chart.edge("ECS2", "NAT1") == ("outbound", False)


def test_spot_engine_and_scaled_to_zero_are_shown() -> None:
    spot = _chart(_env(service={"spot": True, "spot_base": 1}, database={"engine_version": "8.0"}))
    assert "Fargate Spot, first 1 on demand" in spot.nodes["ECS1"].lines
    assert spot.nodes["DB"].lines[0] == "RDS MySQL 8.0"
    idle = _chart(_env(service={"desired_count": 0}))
    assert idle.ids("ECS") == ["ECS1"] and _tasks_in(idle.nodes["ECS1"].label) == 0


def test_secrets_follow_the_framework() -> None:
    django = _chart(environment_of({"app": "shop", "framework": "django"}))
    assert django.nodes["Secrets"].lines == [
        "Secrets Manager", "shop-db-password", "shop-django-secret-key",
    ]  # fmt: skip


def test_staging_names_and_custom_cidrs() -> None:
    env = environment_of(
        {
            "app": "rails-app",
            "network": {
                "vpc_cidr": "10.8.0.0/16",
                "public_subnets": ["10.8.1.0/24", "10.8.2.0/24"],
                "private_subnets": ["10.8.10.0/24", "10.8.11.0/24"],
                "availability_zones": ["a", "d"],
            },
            "environments": {"staging": {}},
        },
        "staging",
    )
    chart = _chart(env)
    assert chart.subgraphs["VPC"].lines == ["VPC 10.8.0.0/16", "rails-app-staging-vpc"]
    assert chart.subgraphs["PrivateAZ2"].lines == ["Private subnet AZ-d", "10.8.11.0/24"]
    assert "rails-app-staging-service in rails-app-staging-cluster" in chart.nodes["ECS1"].lines


def test_labels_are_escaped_for_mermaid() -> None:
    node = Node("A", ('say "hi" #1', "<b>"), "compute")
    text = to_mermaid(Diagram('a "quoted" <title> #1', (node,), ()))
    assert 'A["say #quot;hi#quot; #35;1<br/>#lt;b#gt;"]' in text
    assert 'title: "a \\"quoted\\" <title> #1"' in text
    parse_mermaid(text)


def test_the_diagram_is_a_pure_function_of_the_config() -> None:
    assert to_mermaid(architecture(_env(profile="ha"))) == to_mermaid(
        architecture(_env(profile="ha"))
    )
    assert to_dot(architecture(_env())) == to_dot(architecture(_env()))


# --- SVG --------------------------------------------------------------------------------


def _require_dot() -> None:
    if shutil.which("dot") is None:
        message = "Graphviz's `dot` is not installed (Debian: apt-get install graphviz)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must install it")
        pytest.skip(message)


@pytest.mark.parametrize("profile", PROFILES)
def test_svg_renders_with_every_label(profile: str | None) -> None:
    _require_dot()
    graph = architecture(_env(**({"profile": profile} if profile else {})))
    root = ET.fromstring(render_svg(graph))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = {(t.text or "").strip() for t in root.iter("{http://www.w3.org/2000/svg}text")}
    expected = {line for item, _ in graph.walk() for line in item.lines}
    expected |= {edge.label for edge in graph.edges if edge.label}
    assert expected <= texts, f"missing from the SVG: {sorted(expected - texts)}"


# --- the command ------------------------------------------------------------------------


def run_diagram(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Run:
    """`hakobu diagram ARGS` as a separate process. The command module is imported
    explicitly, so this works whether or not the CLI package registers it yet."""
    code = (
        "import sys, hakobu.cli.diagram_commands; from hakobu.cli import main; "
        "sys.argv = ['hakobu', *sys.argv[1:]]; main()"
    )
    environment = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    result = subprocess.run(
        [sys.executable, "-c", code, "diagram", *args],
        cwd=cwd, env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return Run(result.returncode, result.stdout, result.stderr)


def test_command_prints_mermaid_and_writes_svg(rails_app: Path) -> None:
    run = run_diagram(cwd=rails_app)
    assert run.code == 0, run.output
    chart = parse_mermaid(run.stdout)
    assert chart.ids("NAT") == ["NAT1"]
    _require_dot()
    written = run_diagram("-o", "arch.svg", cwd=rails_app)
    assert written.code == 0, written.output
    assert "Wrote arch.svg (svg)" in written.stderr
    assert ET.parse(rails_app / "arch.svg").getroot().tag.endswith("svg")


def test_command_profile_option_redraws_the_environment(rails_app: Path) -> None:
    run = run_diagram("--profile", "lean", cwd=rails_app)
    assert run.code == 0, run.output
    chart = parse_mermaid(run.stdout)
    assert chart.ids("NAT") == [] and chart.nodes["ECS1"].parents == ("VPC", "PublicAZ1")
    assert "profile: lean" in run.stdout
    bad = run_diagram("--profile", "cheap", cwd=rails_app)
    assert bad.code == 2 and "cheap" in bad.stderr


def test_command_without_graphviz_says_how_to_install_it(rails_app: Path, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    run = run_diagram("--format", "svg", cwd=rails_app, env={"PATH": str(empty)})
    assert run.code == 2, run.output
    assert "Graphviz's `dot` is not installed" in run.stderr
    assert "apt-get install graphviz" in run.stderr
    assert "Traceback" not in run.output


def test_command_reports_a_bad_config(tmp_path: Path) -> None:
    (tmp_path / "hakobu.toml").write_text('app = "rails-app"\n[network]\nnat_gateways = 3\n')
    run = run_diagram(cwd=tmp_path)
    assert run.code == 2 and "network.nat_gateways" in run.stderr


# --- the README's example ----------------------------------------------------------------


def test_docs_example_is_the_current_default_diagram(tmp_path: Path) -> None:
    app = make_rails_app(tmp_path / "rails-app")
    run = run_diagram(cwd=app)
    assert run.code == 0, run.output
    committed = (DOCS / "architecture.mmd").read_text(encoding="utf-8")
    assert committed == run.stdout, f"docs/architecture.mmd is stale: regenerate it ({REGENERATE})"
    # The SVG's layout depends on the Graphviz version; its words must be today's.
    root = ET.parse(DOCS / "architecture.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = {(t.text or "").strip() for t in root.iter("{http://www.w3.org/2000/svg}text")}
    labels = {line for d in parse_mermaid(committed).nodes.values() for line in d.lines}
    assert labels <= texts, f"docs/architecture.svg is stale: regenerate it ({REGENERATE})"


def test_aurora_is_drawn_as_the_guides_cluster_with_the_ha_reader() -> None:
    env = _env(profile="ha", database={"engine": "aurora-mysql", "engine_version": "8.0"})
    resources = render(env)["resource"]
    chart = _chart(env)
    writer, reader = (
        resources["aws_rds_cluster_instance"][name]["identifier"] for name in ("db_1", "db_2")
    )
    assert chart.nodes["DB"].lines == [
        "Aurora MySQL 8.0 cluster",
        resources["aws_rds_cluster"]["main"]["cluster_identifier"],
        f"writer {writer}",
        "db.serverless, Serverless v2 0-2 ACUs",
    ]
    assert chart.nodes["DBStandby"].lines == ["Aurora MySQL reader", reader, "failover target"]
    # Where Terraform puts them: the writer in the first zone, the reader in the second.
    assert chart.nodes["DB"].parents == ("VPC", "PrivateAZ1")
    assert chart.nodes["DBStandby"].parents == ("VPC", "PrivateAZ2")
    assert chart.edge("DB", "DBStandby") == ("shared cluster volume", True)
    assert chart.edge("ECS1", "DB") == ("MySQL 3306/TCP", True)


def test_postgresql_is_named_and_reached_on_5432() -> None:
    chart = _chart(_env(database={"engine": "postgres"}))
    assert chart.nodes["DB"].lines[0] == "RDS PostgreSQL 18"
    assert chart.edge("ECS1", "DB") == ("PostgreSQL 5432/TCP", True)
    single = _chart(_env(database={"engine": "aurora-postgresql", "min_capacity": 0.5}))
    assert single.nodes["DB"].lines[0] == "Aurora PostgreSQL 17 cluster"
    assert single.nodes["DB"].lines[-1] == "db.serverless, Serverless v2 0.5-2 ACUs"
    assert "DBStandby" not in single.nodes
    assert single.edge("ECS1", "DB") == ("PostgreSQL 5432/TCP", True)
