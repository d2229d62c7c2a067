"""SSM sessions: started for the Session Manager plugin, and terminated."""

from __future__ import annotations

import contextlib
from typing import Any

from botocore.exceptions import ClientError


def start_session(ssm: Any, request: dict[str, Any]) -> dict[str, Any]:
    return dict(ssm.start_session(**request))


def terminate_session(ssm: Any, session_id: str) -> None:
    # Already ended (the plugin closed it) is fine: either way nothing is left open.
    with contextlib.suppress(ClientError):
        ssm.terminate_session(SessionId=session_id)
