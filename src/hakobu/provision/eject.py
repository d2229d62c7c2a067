"""`hakobu eject`: the rendered Terraform, written for a team that wants to own it."""

from __future__ import annotations

import json
from pathlib import Path

from hakobu.core.config import Environment
from hakobu.provision import blueprint
from hakobu.provision.terraform import DOCUMENT_FILE


def eject(env: Environment, directory: Path) -> Path:
    """Write `directory`/main.tf.json (creating the directory); its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / DOCUMENT_FILE
    path.write_text(json.dumps(blueprint.render(env), indent=2) + "\n", encoding="utf-8")
    return path
