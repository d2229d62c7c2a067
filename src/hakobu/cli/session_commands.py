"""Interactive and one-off commands in the app's environment: exec, console, run, db."""

from __future__ import annotations
