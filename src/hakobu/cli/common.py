"""What every command shares: its options, declared once, and the small formatters of
money and time.

Cheap to import on purpose: `hakobu --help` loads every command module, so nothing here
(or in a command module's top level) may import boto3, botocore, pydantic or the config
models; commands import those when they run.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.table import Table

# The same values as hakobu.core.config's CONFIG_FILE and PROFILES, written out here so
# that declaring the options imports no config module; tests/core/test_profiles.py keeps
# them equal.
CONFIG_FILE = "hakobu.toml"
PROFILE_NAMES = ("guide", "lean", "ha")

Profile = Enum("Profile", {name: name for name in PROFILE_NAMES}, type=str)  # type: ignore[misc]

EnvArg = Annotated[
    str | None,
    typer.Argument(
        metavar="[ENV]",
        help="Environment, a section of hakobu.toml (default: the only one, or production).",
        show_default=False,
    ),
]
SandboxOpt = Annotated[
    bool,
    typer.Option(
        "--sandbox", help="Run against the local AWS emulator instead of your AWS account."
    ),
]
ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", help="Path to hakobu.toml.", envvar="HAKOBU_CONFIG")
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
TimeoutOpt = Annotated[
    int | None,
    typer.Option(
        "--timeout",
        min=30,
        help="Seconds to wait for the rollout, the DB and the app "
        "(default: deploy.timeout_seconds).",
    ),
]
ProfileOpt = Annotated[
    Profile | None,
    typer.Option(
        "--profile",
        help="As if hakobu.toml set this profile: guide (as the guide), lean (no NAT "
        "Gateway, Graviton) or ha.",
    ),
]
DEFAULT_CONFIG = Path(CONFIG_FILE)


def profile_name(profile: Profile | None) -> str | None:
    return profile.value if profile else None


def plain_table(*columns: str) -> Table:
    """The borderless table every listing prints, with these column headings."""
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in columns:
        table.add_column(column)
    return table


# --- money and time ------------------------------------------------------------------


def money(value: float | None, precise: bool = False) -> str:
    """Dollars as people read them; an unknown price stays "unknown", never a guess."""
    if value is None:
        return "unknown"
    return f"${value:.6g}" if precise else f"${value:,.2f}"


def format_seconds(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def duration(hours: float) -> str:
    if hours >= 48:
        return f"{hours / 24:.0f} days"
    if hours >= 1:
        return f"{hours:.0f} h"
    return format_seconds(hours * 3600)


def utc_minute(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def clock(moment: datetime | None) -> str:
    """Local wall-clock time, with the date when it is not today."""
    if moment is None:
        return "-"
    local = moment.astimezone()
    same_day = local.date() == datetime.now().astimezone().date()
    return f"{local:%H:%M:%S}" if same_day else f"{local:%Y-%m-%d %H:%M}"


def env_and(words: list[str], what: str) -> tuple[str | None, str]:
    """`[ENV] VALUE` positionals: the environment is optional and comes first, as in
    every hakobu command (click cannot put an optional argument before a required one)."""
    from hakobu.core.errors import InvalidArgument

    if len(words) == 1:
        return None, words[0]
    if len(words) == 2:
        return words[0], words[1]
    raise InvalidArgument(
        f"expected [ENV] {what}, got {len(words)} arguments",
        f"for example: hakobu {'scale production 3' if what == 'COUNT' else 'secrets set KEY'}",
    )
