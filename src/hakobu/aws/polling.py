"""Waiting on AWS: retrying throttled calls, and polling until something is true.

Clocks and sleeps are injected, so every wait is tested without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from botocore.exceptions import ClientError

from hakobu.aws.errors import is_throttling

T = TypeVar("T")


def call_patiently(
    call: Callable[[], T],
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    deadline: float,
    delay: float = 1.0,
    max_delay: float = 30.0,
) -> T:
    """`call()`, retried with exponential backoff while AWS throttles it.

    Gives up (re-raising the throttling error) only when the next wait would pass
    `deadline`; every other error propagates at once.
    """
    while True:
        try:
            return call()
        except ClientError as exc:
            if not is_throttling(exc) or clock() + delay > deadline:
                raise
            sleep(delay)
            delay = min(delay * 2, max_delay)


@dataclass
class Waiter:
    """A timeout and a pace for polling, started when it is made."""

    timeout: float
    poll_seconds: float = 10.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    @property
    def deadline(self) -> float:
        return self.started + self.timeout

    def wait(self) -> bool:
        """Sleep one poll; False when the timeout has passed."""
        remaining = self.timeout - self.elapsed
        if remaining <= 0:
            return False
        self.sleep(min(self.poll_seconds, remaining))
        return True


def poll_until(check: Callable[[], T | None], waiter: Waiter) -> T | None:
    """`check()` until it returns something (returned), or None once `waiter` times out.

    `check` runs at least once, and once more after each poll's sleep.
    """
    while True:
        found = check()
        if found is not None:
            return found
        if not waiter.wait():
            return None
