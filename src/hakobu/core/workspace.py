"""Where hakobu keeps an environment's working files: `.hakobu/` in the app directory.

Sandbox runs get their own directory so emulator state never mixes with real state.
"""

from __future__ import annotations

from pathlib import Path

from hakobu.core.config import Environment

WORK_DIR = ".hakobu"


def work_root(root: Path) -> Path:
    return root / WORK_DIR


def environment_dir(env: Environment, sandbox: bool) -> Path:
    base = work_root(env.root)
    return (base / "sandbox" / env.name) if sandbox else (base / env.name)


def forget_sandbox_state(root: Path) -> list[Path]:
    """Remove the Terraform state of sandbox environments: the emulator that held those
    resources is gone, so the state would describe things that no longer exist."""
    removed = []
    sandbox_root = work_root(root) / "sandbox"
    if not sandbox_root.is_dir():
        return removed
    for env_dir in sorted(p for p in sandbox_root.iterdir() if p.is_dir()):
        for name in ("terraform.tfstate", "terraform.tfstate.backup", "tfplan"):
            path = env_dir / name
            if path.exists():
                path.unlink()
                removed.append(path)
    return removed
