"""The placeholder image of the revisions Terraform registers.

`hakobu up` cannot know which image a deploy will push, so every task definition it renders
runs the repository's :bootstrap tag, which is never pushed. A revision running it is
Terraform's (its newest configuration), never a release; ship/, operate/ and provision/ all
need to tell the two apart, hence this module below them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The image of the first revision, before any deploy. The service cannot start tasks
# until `hakobu deploy` pushes an image and registers a revision that runs its digest.
BOOTSTRAP_TAG = "bootstrap"


def runs_placeholder(task_or_definition: Mapping[str, Any]) -> bool:
    """A task (or task definition) of a revision `hakobu up` registered: its image, the
    repository's :bootstrap tag, is never pushed, so its tasks cannot start (on AWS as in
    the sandbox). That is "no deploy yet", not a failure to diagnose."""
    containers = task_or_definition.get("containers") or task_or_definition.get(
        "containerDefinitions", []
    )
    return any(str(c.get("image", "")).endswith(f":{BOOTSTRAP_TAG}") for c in containers)
