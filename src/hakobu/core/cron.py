"""EventBridge Scheduler's schedule expressions: checked as Scheduler checks them, run locally.

Scheduler accepts `rate(value unit)` (a positive whole number; `minute`, `hour` or `day`
when the value is 1, the plural otherwise) and `cron(fields)` with six fields: minutes
(0-59), hours (0-23), day-of-month (1-31, `L`, `nW`), month (1-12 or JAN-DEC),
day-of-week (1-7 or SUN-SAT with 1 = Sunday, `L`, `nL`, `n#k`) and year (1970-2199);
`, - * /` everywhere, and exactly one of day-of-month and day-of-week must be `?`.

hakobu.toml takes the familiar five-field form (`0 3 * * *`) and writes the sixth field and
the `?` itself. A numeric day-of-week is refused there: Unix cron counts Sunday as 0,
Scheduler as 1, so `1-5` would silently move every run by a day; names (`MON-FRI`) mean
the same in both.

`next_run` evaluates an expression locally (for `hakobu schedules`), in its time zone.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta

import msgspec

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
# Far enough ahead to find any run a valid expression has (leap days, a distant year).
SEARCH_DAYS = 366 * 8


class ExpressionError(ValueError):
    """An expression Scheduler would refuse: what is wrong and how to write it instead."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem, self.fix = problem, fix


class _Field(msgspec.Struct, frozen=True):
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # JAN-DEC or SUN-SAT, numbered from `low`


FIELDS = (
    _Field("minutes", 0, 59),
    _Field("hours", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, MONTHS),
    _Field("day-of-week", 1, 7, DAYS),
    _Field("year", 1970, 2199),
)


# --- rate ---------------------------------------------------------------------------------


def rate_expression(text: str) -> str:
    """`1 hour` or `rate(1 hour)` -> `rate(1 hour)`, as Scheduler requires it."""
    inner = _unwrap(text.strip(), "rate")
    match = re.fullmatch(r"(\d+) ([a-z]+)", inner)
    example = 'for example "5 minutes", "1 hour" or "7 days"'
    if not match:
        raise ExpressionError(
            f"{text!r} is not a rate", f"write a whole number and a unit, {example}"
        )
    value, unit = int(match.group(1)), match.group(2)
    singular = unit.removesuffix("s")
    if singular not in RATE_UNITS:
        raise ExpressionError(
            f"{unit!r} is not a rate unit", f"use minute(s), hour(s) or day(s): {example}"
        )
    if value == 0:
        raise ExpressionError("a rate must be at least 1", example)
    expected = singular if value == 1 else f"{singular}s"
    if unit != expected:
        raise ExpressionError(
            f"Scheduler refuses {value} {unit!r}: the unit is singular for 1 and plural otherwise",
            f'write "{value} {expected}"',
        )
    return f"rate({value} {unit})"


def rate_seconds(expression: str) -> int:
    value, unit = _unwrap(expression, "rate").split()
    return int(value) * RATE_UNITS[unit.removesuffix("s")]


# --- cron ---------------------------------------------------------------------------------


def cron_expression(text: str) -> str:
    """Five-field cron (`0 3 * * *`) -> `cron(0 3 * * ? *)`, checked field by field."""
    fields = text.strip().split()
    if text.strip().startswith("cron(") or len(fields) == 6:
        raise ExpressionError(
            f"{text!r} is in Scheduler's own six-field form",
            'write the five fields "minute hour day-of-month month day-of-week", e.g. '
            '"0 3 * * *"; hakobu adds the year and the "?"',
        )
    if len(fields) != 5:
        raise ExpressionError(
            f"{text!r} has {len(fields)} fields, cron has five",
            'write "minute hour day-of-month month day-of-week", e.g. "0 3 * * *"',
        )
    minute, hour, dom, month, dow = fields
    if re.search(r"\d", dow.split("#")[0].rstrip("L")) and dow != "*":
        raise ExpressionError(
            f"day-of-week {dow!r} is a number, and cron numbers days differently from "
            "EventBridge Scheduler (Sunday is 0 in cron, 1 in Scheduler)",
            "name the days instead: MON-FRI, SUN, SAT,SUN (or FRI#1, FRIL)",
        )
    if dom not in ("*", "?") and dow not in ("*", "?"):
        raise ExpressionError(
            f"both day-of-month ({dom}) and day-of-week ({dow}) are set, which Scheduler "
            "does not support",
            "set one of them and write * in the other",
        )
    if dow in ("*", "?"):
        dow = "?"
    else:
        dom = "?"
    expression = f"cron({minute} {hour} {dom} {month} {dow} *)"
    parse_cron(expression)
    return expression


def parse_cron(expression: str) -> list[str]:
    """The six fields of `cron(...)`, each checked; raises ExpressionError."""
    fields = _unwrap(expression, "cron").split()
    if len(fields) != 6:
        raise ExpressionError(
            f"{expression!r} needs six fields", "write cron(m h dom mon dow year)"
        )
    if (fields[2] == "?") == (fields[4] == "?"):
        raise ExpressionError(
            "exactly one of day-of-month and day-of-week must be ?", "write ? in one of them"
        )
    for spec, field in zip(fields, FIELDS, strict=True):
        _values(spec, field)
    return fields


def _unwrap(text: str, kind: str) -> str:
    if text.startswith(f"{kind}(") and text.endswith(")"):
        return text[len(kind) + 1 : -1].strip()
    return text


def _number(token: str, field: _Field) -> int:
    upper = token.upper()
    if field.names and upper in field.names:
        return field.names.index(upper) + field.low
    if not token.isdigit():
        raise ExpressionError(
            f"{token!r} is not a value of {field.name}",
            f"use {field.low}-{field.high}"
            + (f" or {field.names[0]}-{field.names[-1]}" if field.names else ""),
        )
    value = int(token)
    if not field.low <= value <= field.high:
        raise ExpressionError(
            f"{value} is outside {field.name} ({field.low}-{field.high})",
            f"use a value from {field.low} to {field.high}",
        )
    return value


def _values(spec: str, field: _Field) -> set[int] | str:
    """The set of values a plain field spec covers, or the spec itself for L/W/#/?."""
    if spec == "?" and field.name in ("day-of-month", "day-of-week"):
        return spec
    if field.name == "day-of-month" and re.fullmatch(r"L|\d{1,2}W", spec):
        if spec != "L":
            _number(spec[:-1], field)
        return spec
    if field.name == "day-of-week" and re.fullmatch(r"L|\w{1,3}L|\w{1,3}#[1-5]", spec):
        if spec != "L":
            _number(spec.split("#")[0].removesuffix("L"), field)
        return spec
    values: set[int] = set()
    for part in spec.split(","):
        values |= _part(part, field)
    return values


def _part(part: str, field: _Field) -> set[int]:
    base, _, step_text = part.partition("/")
    step = 1
    if step_text:
        if not step_text.isdigit() or int(step_text) == 0:
            raise ExpressionError(
                f"{part!r}: the step after / must be a whole number above 0", "write e.g. */15"
            )
        step = int(step_text)
    if base == "*":
        low, high = field.low, field.high
    elif "-" in base:
        first, _, last = base.partition("-")
        low, high = _number(first, field), _number(last, field)
        if low > high:
            raise ExpressionError(
                f"{part!r}: the range in {field.name} runs backwards",
                "write the smaller value first",
            )
    else:
        low = _number(base, field)
        high = field.high if step_text else low
    return set(range(low, high + 1, step))


# --- next run -----------------------------------------------------------------------------


def next_run(expression: str, timezone: str, after: datetime) -> datetime | None:
    """The first run strictly after `after` (aware), in `timezone`; None if there is none.

    A rate schedule's first run is counted from `after`: Scheduler starts a rate at the
    schedule's creation, which hakobu does not know locally.
    """
    from zoneinfo import ZoneInfo  # only `hakobu schedules` runs expressions: not on start-up

    zone = ZoneInfo(timezone)
    if expression.startswith("rate("):
        return (after + timedelta(seconds=rate_seconds(expression))).astimezone(zone)
    minutes, hours, dom, months, dow, years = (
        _values(spec, field) for spec, field in zip(parse_cron(expression), FIELDS, strict=True)
    )
    local = after.astimezone(zone)
    day = local.date()
    for _ in range(SEARCH_DAYS):
        if (
            day.year in years  # type: ignore[operator]
            and day.month in months  # type: ignore[operator]
            and _day_matches(day.year, day.month, day.day, dom, dow)
        ):
            for hour in sorted(hours):  # type: ignore[arg-type]
                for minute in sorted(minutes):  # type: ignore[arg-type]
                    candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                    if candidate > local:
                        return candidate
        day += timedelta(days=1)
    return None


def _day_matches(year: int, month: int, day: int, dom: set[int] | str, dow: set[int] | str) -> bool:
    if dom != "?":
        return _dom_matches(year, month, day, dom)
    return _dow_matches(year, month, day, dow)


def _dom_matches(year: int, month: int, day: int, dom: set[int] | str) -> bool:
    last = calendar.monthrange(year, month)[1]
    if dom == "L":
        return day == last
    if isinstance(dom, str) and dom.endswith("W"):
        return day == _nearest_weekday(year, month, min(int(dom[:-1]), last))
    return day in dom  # type: ignore[operator]


def _dow_matches(year: int, month: int, day: int, dow: set[int] | str) -> bool:
    weekday = (calendar.weekday(year, month, day) + 1) % 7 + 1  # 1 = Sunday, as Scheduler
    last = calendar.monthrange(year, month)[1]
    if dow == "L":
        return weekday == 7
    if isinstance(dow, str) and dow.endswith("L"):
        return weekday == _number(dow[:-1], FIELDS[4]) and day + 7 > last
    if isinstance(dow, str) and "#" in dow:
        name, nth = dow.split("#")
        return weekday == _number(name, FIELDS[4]) and (day - 1) // 7 + 1 == int(nth)
    return weekday in dow  # type: ignore[operator]


def _nearest_weekday(year: int, month: int, day: int) -> int:
    """The weekday nearest `day` within its month (the `W` of day-of-month)."""
    weekday = calendar.weekday(year, month, day)  # Monday = 0
    last = calendar.monthrange(year, month)[1]
    if weekday == 5:  # Saturday: the Friday before, or the Monday after on the 1st
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: the Monday after, or the Friday before on the last day
        return day + 1 if day < last else day - 2
    return day
