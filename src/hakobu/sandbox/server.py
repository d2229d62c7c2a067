"""The sandbox emulator process: moto's server on a loopback port the kernel picks.

`hakobu.sandbox.emulator.start` runs `python -m hakobu.sandbox.server STATE_FILE` detached; people
do not run it. Binding port 0 means no free-port guess can collide with another program;
the real port reaches the parent through STATE_FILE, written only once the socket listens.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from hakobu.sandbox import moto_gaps
from hakobu.sandbox.emulator import LOOPBACK, SandboxServer, read_state, write_state

_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT/SIGHUP, then remove STATE_FILE if it still names us."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m hakobu.sandbox.server STATE_FILE", file=sys.stderr)
        return 2
    state_file = Path(args[0])

    # Block the stop signals before any thread exists: server threads inherit the mask, so
    # the signals wait for sigwait() below instead of interrupting a request.
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)

    import moto  # here, not at the top: importing moto is most of the startup time
    from moto.server import ThreadedMotoServer

    moto_gaps.install()  # answer the AWS calls moto lacks before any request arrives
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
    server.start()  # returns once the socket listens; early requests wait in its backlog
    port = server.get_host_and_port()[1]
    # moto reads MOTO_PORT when it builds URLs that point back at itself.
    os.environ["MOTO_PORT"] = str(port)
    me = SandboxServer(
        pid=os.getpid(),
        port=port,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    write_state(state_file, me)
    print(f"hakobu sandbox: moto {moto.__version__} on {me.endpoint}, pid {me.pid}", flush=True)

    received = signal.sigwait(_STOP_SIGNALS)
    print(f"hakobu sandbox: stopping on {signal.Signals(received).name}", flush=True)
    # Someone may have killed us by hand: leave no stale state, but never remove a newer
    # server's file.
    recorded = read_state(state_file)
    if recorded is not None and recorded.pid == me.pid:
        state_file.unlink(missing_ok=True)
    return 0  # the server thread is a daemon and ends with the interpreter


if __name__ == "__main__":
    sys.exit(main())
