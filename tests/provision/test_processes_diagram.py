"""`hakobu diagram` with [processes.NAME], [[schedules]] and [storage]: each worker beside
web's tasks reaching what they reach (not the load balancer), Scheduler starting the
scheduled task, the bucket used by web and the workers; checked with test_diagram's own
Mermaid parser, and in the SVG Graphviz draws. Without those sections nothing changes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from hakobu.provision.diagram import architecture, render_svg, to_dot, to_mermaid
from tests.conftest import environment_of
from tests.provision.test_diagram import _require_dot, parse_mermaid

SECTIONS = {
    "processes": {
        "worker": {"command": ["bin/jobs"], "desired_count": 2, "spot": True},
        "mail-sender": {"command": ["bin/rails", "mail:send"], "cpu": 512, "memory": 1024},
    },
    "schedules": [
        {"name": "nightly", "cron": "0 3 * * *", "timezone": "Asia/Tokyo", "command": ["x"]}
    ],
    "storage": {"bucket": True},
}


def _env(**raw: Any) -> Any:
    return environment_of({"app": "rails-app", "framework": "rails", **raw})


def test_workers_schedules_and_the_bucket_are_drawn() -> None:
    chart = parse_mermaid(to_mermaid(architecture(_env(**SECTIONS))))
    worker, sender = chart.nodes["Worker_worker"], chart.nodes["Worker_mail_sender"]
    assert worker.parents == chart.nodes["ECS1"].parents == ("VPC", "PrivateAZ1")
    assert worker.label.split("<br/>") == [
        "ECS Fargate, worker ×2",
        "rails-app-worker in rails-app-cluster",
        "0.25 vCPU, 512 MiB, x86_64",
        "bin/jobs",
        "Fargate Spot",
    ]
    assert "0.5 vCPU, 1024 MiB" in sender.label and "bin/rails mail:send" in sender.label
    for process in ("Worker_worker", "Worker_mail_sender", "Scheduled"):
        # What web's tasks reach, each worker reaches; the load balancer sends them nothing.
        assert chart.edge(process, "DB") == chart.edge("ECS1", "DB")
        assert chart.edge(process, "Logs") == ("logs", True)
        assert chart.edge(process, "NAT1") == chart.edge("ECS1", "NAT1")
        assert not [e for e in chart.edges if e[0] == "ALB" and e[1] == process]
    assert chart.nodes["Scheduler"].parents == ("AWS",)
    assert "nightly: cron(0 3 * * ? *) Asia/Tokyo" in chart.nodes["Scheduler"].label
    assert chart.edge("Scheduler", "Scheduled") == ("RunTask on time", True)
    assert chart.nodes["Storage"].label.split("<br/>")[:2] == [
        "S3 bucket",
        "rails-app-ACCOUNT-ap-northeast-1",
    ]
    for user in ("ECS1", "Worker_worker", "Worker_mail_sender"):
        assert chart.edge(user, "Storage") == ("uploads", True)


def test_without_the_sections_the_diagram_is_unchanged() -> None:
    plain = architecture(_env())
    assert to_mermaid(plain) == to_mermaid(architecture(_env(processes={})))
    assert "Worker_" not in to_dot(plain) and "Scheduler" not in to_dot(plain)


def test_the_svg_shows_every_added_label() -> None:
    _require_dot()
    graph = architecture(_env(**SECTIONS, profile="lean"))
    root = ET.fromstring(render_svg(graph))
    texts = {(t.text or "").strip() for t in root.iter("{http://www.w3.org/2000/svg}text")}
    for line in ("ECS Fargate, worker ×2", "EventBridge Scheduler", "S3 bucket", "uploads"):
        assert line in texts, sorted(texts)
