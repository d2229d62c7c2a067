"""A wheelhouse made from the packages installed in this interpreter, so a new virtualenv
can install hakobu's dependencies with `pip install --no-index` (no package index, no
network): each installed distribution is packed back into a wheel from its RECORD."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

SKIPPED_METADATA = {"INSTALLER", "REQUESTED", "RECORD", "direct_url.json"}


def runtime_closure(requirements: list[str]) -> list[metadata.Distribution]:
    """The installed distributions `requirements` need, transitively (no extras)."""
    found: dict[str, metadata.Distribution] = {}
    pending = [Requirement(text) for text in requirements]
    while pending:
        requirement = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        dist = metadata.distribution(requirement.name)
        found[name] = dist
        pending += [Requirement(text) for text in dist.requires or []]
    return list(found.values())


def pack(dist: metadata.Distribution, directory: Path) -> Path:
    """`dist` as a wheel in `directory`, tagged as its own WHEEL file says."""
    root = Path(str(dist.locate_file("")))
    info = Path(str(dist._path))  # type: ignore[attr-defined]  # the .dist-info directory
    tags = [
        line.split(":", 1)[1].strip().split("-")
        for line in (info / "WHEEL").read_text().splitlines()
        if line.startswith("Tag:")
    ]
    # Several tags (py2-none-any, py3-none-any) make one compressed tag: py2.py3-none-any.
    tag = "-".join(".".join(dict.fromkeys(part[i] for part in tags)) for i in range(3))
    name = canonicalize_name(dist.metadata["Name"]).replace("-", "_")
    version = dist.version
    wheel = directory / f"{name}-{version}-{tag}.whl"
    records: list[str] = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in dist.files or []:
            relative = entry.as_posix()
            if relative.startswith("..") or "__pycache__" in relative:
                continue  # scripts (pip writes them again) and byte code
            if Path(relative).parent.name == info.name and Path(relative).name in SKIPPED_METADATA:
                continue
            path = root / relative
            if not path.is_file():
                continue
            data = path.read_bytes()
            archive.writestr(relative, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            records.append(f"{relative},sha256={digest.decode()},{len(data)}")
        record = f"{info.name}/RECORD"
        archive.writestr(record, "\n".join([*records, f"{record},,"]) + "\n")
    return wheel


def build_wheelhouse(requirements: list[str], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    return [pack(dist, directory) for dist in runtime_closure(requirements)]
