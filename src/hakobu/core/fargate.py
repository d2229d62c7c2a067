"""The CPU and memory combinations that AWS Fargate accepts for a task.

Source: the "Task size" table of the Amazon ECS developer guide (Fargate task CPU and
memory). Memory is in MiB, CPU in CPU units (1024 = 1 vCPU).
"""

from __future__ import annotations


def _steps(first: int, last: int, step: int) -> tuple[int, ...]:
    return tuple(range(first, last + 1, step))


FARGATE_MEMORY_BY_CPU: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: _steps(1024, 4096, 1024),
    1024: _steps(2048, 8192, 1024),
    2048: _steps(4096, 16384, 1024),
    4096: _steps(8192, 30720, 1024),
    8192: _steps(16384, 61440, 4096),
    16384: _steps(32768, 122880, 8192),
}


def describe_allowed_memory(cpu: int) -> str:
    """A short, readable list of the memory sizes allowed with `cpu`."""
    sizes = FARGATE_MEMORY_BY_CPU[cpu]
    if len(sizes) <= 4:
        return ", ".join(str(m) for m in sizes)
    step = sizes[1] - sizes[0]
    return f"{sizes[0]} to {sizes[-1]} in steps of {step}"
