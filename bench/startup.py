"""Start-up of the hakobu CLI against `aws --version` (the AWS CLI v1), measured side by
side in one run, interleaved, medians printed with ratios. Not a timed test.

    python bench/startup.py [--runs N]

Measures `hakobu --help`, `--version`, every subcommand's `--help`, `cost` and `diagram`
(no AWS call) in a temporary app, and prints `python -X importtime` per top package for
`hakobu --help`. Uses the real executables (not pyenv shims) so both sides pay the same.
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
    "rollback", "releases", "images", "status", "doctor", "logs", "exec", "console", "run",
    "db", "scale", "secrets", "pause", "resume", "sandbox",
]  # fmt: skip


def _time(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "COLUMNS": "120"}, check=False)  # fmt: skip
    return time.perf_counter() - started


def _import_times(hakobu: str, cwd: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "hakobu", "--help"],
                          cwd=cwd, capture_output=True, text=True, check=False)  # fmt: skip
    totals: dict[str, float] = defaultdict(float)
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, self_us, name = (part.strip() for part in line.split("|"))
        if self_us.isdigit():
            totals[name.split(".")[0]] += int(self_us) / 1e6
    return dict(sorted(totals.items(), key=lambda item: -item[1])[:12])


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
        times: dict[str, list[float]] = defaultdict(list)
        for _ in range(runs):  # interleaved: load on the machine hits every case alike
            for label, argv in cases.items():
                times[label].append(_time(argv, app))
        base = statistics.median(times["aws --version"])
        print(f"median of {runs} runs; ratio = median / aws --version ({base * 1000:.0f} ms)")
        for label in cases:
            median = statistics.median(times[label])
            print(f"  {label:<32} {median * 1000:7.0f} ms  {median / base:5.2f}x")
        helps = [statistics.median(times[f"hakobu {n} --help"]) / base for n in SUBCOMMANDS]
        print(f"  slowest subcommand --help: {max(helps):.2f}x")
        print("python -X importtime, hakobu --help, self time per top package (s):")
        for name, seconds in _import_times(hakobu, app).items():
            print(f"  {name:<24} {seconds:.3f}")


if __name__ == "__main__":
    main()
