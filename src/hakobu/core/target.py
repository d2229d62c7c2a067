"""Where AWS calls go: the real AWS account of the caller, or the local sandbox.

The same rendered Terraform runs against both; only the process environment differs
(endpoint and dummy credentials for the sandbox), so a sandbox run exercises exactly what
a real run would send.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from hakobu.core import access

if TYPE_CHECKING:
    import boto3

if TYPE_CHECKING:
    from botocore.config import Config


def retry_config() -> Config:
    """Throttling is normal at scale: back off adaptively instead of failing a command."""
    from botocore.config import Config

    return Config(retries={"mode": "adaptive", "max_attempts": 10})


@dataclass(frozen=True)
class Target:
    region: str
    endpoint_url: str | None = None
    # Sandbox only: variables pointing SDKs at the emulator, and the user's variables that
    # would send calls elsewhere (AWS_PROFILE, ...) and so must be dropped.
    variables: dict[str, str] = field(default_factory=dict)
    masked: tuple[str, ...] = ()
    # Sandbox only: None while the emulator lives, else why it is gone. Long waits (Terraform
    # runs) poll it, since a provider retrying a dead endpoint would otherwise wait for minutes.
    stopped: Callable[[], str | None] | None = field(default=None, compare=False)
    # Sandbox only: the container engine its runtime runs tasks with, or None (none found).
    runtime: Callable[[], str | None] | None = field(default=None, compare=False)

    @property
    def sandbox(self) -> bool:
        return self.endpoint_url is not None

    @property
    def runs_tasks(self) -> bool:
        """Whether tasks really run where the calls go: always on AWS; in the sandbox only
        where its runtime has a container engine. A deploy, `run` or schedule follows a task
        (exit code, rollout) only where one runs; elsewhere it would wait forever."""
        if not self.sandbox:
            return True
        return self.runtime is not None and self.runtime() is not None

    def environment(self) -> dict[str, str]:
        """Variables for child processes (terraform, aws, session-manager-plugin)."""
        return {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region, **self.variables}

    @cached_property
    def _session(self) -> boto3.Session:
        # One session per target: each new session re-reads botocore's data (~0.1 s).
        import boto3  # lazily: boto3 costs ~0.2 s to import, and --help needs none of it

        return boto3.Session(
            region_name=self.region,
            aws_access_key_id=self.variables.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=self.variables.get("AWS_SECRET_ACCESS_KEY"),
        )

    def session(self) -> boto3.Session:
        return self._session

    def client(self, service: str) -> Any:
        from botocore.config import Config

        config = retry_config()
        if self.sandbox:
            # proxies={} keeps botocore from sending loopback calls through HTTP(S)_PROXY.
            # The emulator never throttles: a few quick retries, so a stopped emulator is
            # reported in seconds instead of after minutes of backoff.
            config = config.merge(
                Config(proxies={}, retries={"mode": "standard", "max_attempts": 3})
            )
        client = self.session().client(service, endpoint_url=self.endpoint_url, config=config)
        return access.watch(client)  # a refusal can then name the resource it was about
