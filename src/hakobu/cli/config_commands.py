"""Commands that change the running app's settings: scale and secrets."""

from __future__ import annotations
