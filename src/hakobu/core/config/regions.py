"""The AWS regions hakobu.toml may name: where ECS runs, from botocore's bundled data.

Read from botocore's endpoint file itself, as `get_available_regions("ecs")` reads it (the
regional endpoints of the `aws` partition): importing botocore and making a session to
ask would cost every command that loads hakobu.toml about 0.25 s, in `hakobu cost` and
`hakobu diagram` more than all the rest of their work. The file is 1.2 MB of JSON; msgspec
decodes only the few keys named below and skips the rest unparsed (`Raw`), about 2 ms
against 14 ms for `json.loads` of the whole (bench/startup.py).
"""

from __future__ import annotations

import functools
from pathlib import Path

import msgspec


class _Service(msgspec.Struct):
    endpoints: dict[str, msgspec.Raw] = {}


class _Partition(msgspec.Struct):
    partition: str
    regions: dict[str, msgspec.Raw]
    services: dict[str, msgspec.Raw]


class _Endpoints(msgspec.Struct):
    partitions: list[_Partition]


@functools.cache
def known_regions() -> list[str]:
    """AWS regions where ECS runs (no network), in botocore's order."""
    data = _botocore_endpoints()
    if data is None:  # a botocore laid out otherwise: ask it (slower, same answer)
        import botocore.session

        return botocore.session.get_session().get_available_regions("ecs")
    endpoints = msgspec.json.decode(data, type=_Endpoints)
    for partition in endpoints.partitions:
        if partition.partition == "aws" and "ecs" in partition.services:
            ecs = msgspec.json.decode(partition.services["ecs"], type=_Service)
            return [name for name in ecs.endpoints if name in partition.regions]
    return []


def _botocore_endpoints() -> bytes | None:
    import importlib.util

    spec = importlib.util.find_spec("botocore")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        data = Path(folder) / "data"
        if (data / "endpoints.json").is_file():
            return (data / "endpoints.json").read_bytes()
        if (data / "endpoints.json.gz").is_file():  # botocore may ship its data gzipped
            import gzip

            return gzip.decompress((data / "endpoints.json.gz").read_bytes())
    return None
