"""hakobu status: the service, deployments, targets, events, stopped tasks, DB, URL."""

from __future__ import annotations
