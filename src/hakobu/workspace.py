"""Where hakobu keeps an environment's working files: `.hakobu/` in the app directory.

Sandbox runs get their own directory so emulator state never mixes with real state.
"""

from __future__ import annotations

from pathlib import Path

from hakobu.config import Environment

WORK_DIR = ".hakobu"


def work_root(root: Path) -> Path:
    return root / WORK_DIR


def environment_dir(env: Environment, sandbox: bool) -> Path:
    base = work_root(env.root)
    return (base / "sandbox" / env.name) if sandbox else (base / env.name)
