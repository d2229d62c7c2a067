"""Where boto3 clients come from, as one protocol every operation takes.

A `Target` (the AWS account of the caller, or the sandbox) is a `ClientSource`; tests pass
look-alikes whose clients answer from botocore Stubbers. `AwsClients` bundles the clients
of one source, each made on first use and then reused: making a boto3 client costs more
than the call it then sends, and `status --watch` or `doctor` send many.
"""

from __future__ import annotations

from typing import Any, Protocol


class ClientSource(Protocol):
    """What gives boto3 clients: a `Target`, or a test double answering from stubs."""

    @property
    def sandbox(self) -> bool: ...

    @property
    def runs_tasks(self) -> bool: ...

    def client(self, service: str) -> Any: ...


class AwsClients:
    """The boto3 clients of one `ClientSource`, each made once, on first use."""

    def __init__(self, source: ClientSource) -> None:
        self.source = source
        self._made: dict[str, Any] = {}

    @classmethod
    def of(cls, source: ClientSource | AwsClients) -> AwsClients:
        return source if isinstance(source, AwsClients) else cls(source)

    @property
    def sandbox(self) -> bool:
        return self.source.sandbox

    def client(self, service: str) -> Any:
        if service not in self._made:
            self._made[service] = self.source.client(service)
        return self._made[service]

    @property
    def ecs(self) -> Any:
        return self.client("ecs")

    @property
    def elbv2(self) -> Any:
        return self.client("elbv2")

    @property
    def rds(self) -> Any:
        return self.client("rds")

    @property
    def ecr(self) -> Any:
        return self.client("ecr")

    @property
    def logs(self) -> Any:
        return self.client("logs")

    @property
    def secretsmanager(self) -> Any:
        return self.client("secretsmanager")

    @property
    def sts(self) -> Any:
        return self.client("sts")

    @property
    def ec2(self) -> Any:
        return self.client("ec2")

    @property
    def ssm(self) -> Any:
        return self.client("ssm")
