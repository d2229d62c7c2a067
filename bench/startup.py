"""Start-up of the hakobu CLI against `aws --version` (the AWS CLI v1), measured side by
side in one run, interleaved, medians printed with ratios. Not a timed test.

    python bench/startup.py [--runs N]

Measures `hakobu --help`, `--version`, every subcommand's `--help`, `cost` and `diagram`
(no AWS call) in a temporary app, and prints `python -X importtime` per top package for
`hakobu --help`, `hakobu init --help` and `hakobu cost`. Uses the real executables (not
pyenv shims) so both sides pay the same.

Measured as a user runs them: every case runs once untimed first, with
PYTHONDONTWRITEBYTECODE removed from the children's environment, so both sides start
from cached bytecode (as after `pip install`, which compiles it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

BIN = Path(sys.executable).parent
SUBCOMMANDS = [
    "init", "plan", "up", "outputs", "destroy", "eject", "cost", "diagram", "deploy",
    "rollback", "releases", "images", "ci", "status", "doctor", "logs", "exec", "console",
    "run", "scale", "alarms", "pause", "resume", "iam", "db", "schedules", "domain",
    "secrets", "sandbox",
]  # fmt: skip
# As a user's shell has it: bytecode is written (and then read) like after pip install.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"COLUMNS": "120"}


def _time(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=ENV, check=False)  # fmt: skip
    return time.perf_counter() - started


def _import_times(args: list[str], cwd: Path) -> dict[str, float]:
    argv = [sys.executable, "-X", "importtime", "-m", "hakobu", *args]
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=ENV, check=False)
    totals: dict[str, float] = defaultdict(float)
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, self_us, name = (part.strip() for part in line.split("|"))
        if self_us.isdigit():
            totals[name.split(".")[0]] += int(self_us) / 1e6
    return dict(sorted(totals.items(), key=lambda item: -item[1])[:8])


def _load() -> str:
    """The 1-minute load average: on a shared machine, what the figures were taken under."""
    return f"{os.getloadavg()[0]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    hakobu = str(BIN / "hakobu") if (BIN / "hakobu").exists() else shutil.which("hakobu")
    aws = str(BIN / "aws") if (BIN / "aws").exists() else shutil.which("aws")
    assert hakobu and aws, "needs hakobu and the aws CLI (pip install -e '.[test]')"
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp)
        subprocess.run([hakobu, "init"], cwd=app, capture_output=True, check=True)
        cases = {"aws --version": [aws, "--version"], "hakobu --help": [hakobu, "--help"],
                 "hakobu --version": [hakobu, "--version"], "hakobu cost": [hakobu, "cost"],
                 "hakobu diagram": [hakobu, "diagram"]}  # fmt: skip
        cases |= {f"hakobu {name} --help": [hakobu, name, "--help"] for name in SUBCOMMANDS}
        load_before = _load()
        for argv in cases.values():  # warm-up: bytecode written, files in the page cache
            _time(argv, app)
        times: dict[str, list[float]] = defaultdict(list)
        for _ in range(runs):  # interleaved: load on the machine hits every case alike
            for label, argv in cases.items():
                times[label].append(_time(argv, app))
        base = statistics.median(times["aws --version"])
        print(f"median of {runs} runs; ratio = median / aws --version ({base * 1000:.0f} ms); "
              f"load average {load_before} before, {_load()} after")  # fmt: skip
        for label in cases:
            median = statistics.median(times[label])
            print(f"  {label:<32} {median * 1000:7.0f} ms  {median / base:5.2f}x")
        helps = [statistics.median(times[f"hakobu {n} --help"]) / base for n in SUBCOMMANDS]
        print(f"  subcommand --help: {min(helps):.2f}x-{max(helps):.2f}x, "
              f"median {statistics.median(helps):.2f}x")  # fmt: skip
        for args in (["--help"], ["init", "--help"], ["cost"]):
            print(f"python -X importtime, hakobu {' '.join(args)}, self time per top package:")
            shown = _import_times(args, app).items()
            print("  " + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in shown))


if __name__ == "__main__":
    main()
