"""hakobu logs: the app's CloudWatch Logs, filtered, followed."""

from __future__ import annotations
