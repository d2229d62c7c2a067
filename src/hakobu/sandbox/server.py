"""The sandbox emulator process: moto's server on a loopback port the kernel picks.

`hakobu.sandbox.emulator.start` runs `python -m hakobu.sandbox.server STATE_FILE` detached; people
do not run it. Binding port 0 means no free-port guess can collide with another program;
the real port reaches the parent through STATE_FILE, written only once the socket listens.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hakobu.sandbox import edge_gaps, moto_gaps
from hakobu.sandbox.emulator import (
    LOOPBACK,
    NO_ENGINE_LINE,
    SandboxServer,
    read_state,
    write_state,
)

if TYPE_CHECKING:
    from hakobu.sandbox.runtime.controller import Runtime

_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
NO_ENGINE = (
    f"{NO_ENGINE_LINE}: the sandbox runs the control plane only; "
    "install podman or docker to run the app"
)


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

    moto_gaps.install()  # answer the AWS calls moto lacks before any request arrives
    edge_gaps.install()  # CloudFront read back as AWS returns it, ACM validated by records
    _log_to_stdout()  # before the first request: a replayed attempt logs a line
    server = _moto_server()
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
    stop_runtime = _start_runtime(state_file)

    received = signal.sigwait(_STOP_SIGNALS)
    print(f"hakobu sandbox: stopping on {signal.Signals(received).name}", flush=True)
    stop_runtime()
    # Someone may have killed us by hand: leave no stale state, but never remove a newer
    # server's file.
    recorded = read_state(state_file)
    if recorded is not None and recorded.pid == me.pid:
        state_file.unlink(missing_ok=True)
    return 0  # the server thread is a daemon and ends with the interpreter


def _moto_server() -> Any:
    """moto's threaded server, its application behind RetriedAttempts (a retried attempt
    of an SDK call gets its first attempt's answer instead of being applied twice)."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    from hakobu.sandbox.retried_attempts import RetriedAttempts

    class Server(ThreadedMotoServer):  # type: ignore[misc]
        def _server_entry(self) -> None:  # moto's own, with the middleware around the app
            app = RetriedAttempts(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(self._ip_address, self._port, app, True)
            self._server_ready_event.set()
            self._server.serve_forever()

    return Server(ip_address=LOOPBACK, port=0, verbose=False)


def _start_runtime(state_file: Path) -> Callable[[], None]:
    """Run the app beside moto (docs/design.md, "Sandbox") when a container engine exists.

    Finding the engine takes a moment (`podman info`), so it happens on a thread after the
    socket listens: the parent's start-up wait stays as short as moto's. Returns what stops
    the runtime (every container and database process it started) on the way out.
    """
    started: list[Runtime] = []
    ready = threading.Event()

    def start() -> None:
        try:
            from hakobu.sandbox.runtime.engine import ContainerEngine

            work_dir = state_file.parent / "sandbox"
            engine = ContainerEngine.find(work_dir / "engine")
            if engine is None:
                print(NO_ENGINE, flush=True)
                return
            # Imported only now: the runtime's imports (moto's models) would compete with
            # the first requests while the parent waits for the server to answer.
            from hakobu.sandbox.runtime.controller import Runtime, facts_path

            runtime = Runtime(engine, work_dir, facts_path(state_file))
            runtime.start()
            started.append(runtime)
            print(f"hakobu sandbox: running the app with {engine.name}", flush=True)
        except Exception:
            logging.getLogger("hakobu.sandbox").exception("the runtime did not start")
        finally:
            ready.set()

    threading.Thread(target=start, name="hakobu-runtime-start", daemon=True).start()

    def stop() -> None:
        ready.wait(timeout=30)
        for runtime in started:
            runtime.stop()

    return stop


def _log_to_stdout() -> None:
    """The sandbox's log lines (the runtime's, each replayed SDK attempt) go to the server's
    output (.hakobu/sandbox.log); moto's request log stays off."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("hakobu sandbox: %(name)s: %(message)s"))
    runtime_log = logging.getLogger("hakobu.sandbox")
    runtime_log.addHandler(handler)
    runtime_log.setLevel(logging.INFO)


if __name__ == "__main__":
    sys.exit(main())
