"""Read an `strace -f` log of network syscalls and say which ones left the machine.

The log is one file (not -ff), written with `TRACE_ARGS`: connect/sendto/sendmsg/sendmmsg
for destinations, clone/clone3/fork/vfork/unshare/setns to know each task's network
namespace, execve to name the program, `-y` so a setns() fd shows its namespace inode, and
`-q` (not -qq) so the `+++ exited` lines tell a reused PID from the task that had it.

The rule (`offences`):
- allowed everywhere: AF_UNIX, AF_NETLINK, AF_UNSPEC (a UDP socket's disconnect),
  127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104, and a send with no address (its socket's
  connect() was checked);
- but not a name-service daemon's socket: systemd-resolved's (it answers names only) at
  all, nscd's once the connect succeeds (glibc tries nscd for users and groups too: chown,
  mariadbd and Python's pwd do, and where no nscd runs that connect fails and asks nothing);
- never, anywhere: port 53 (a DNS query, even to a resolver on loopback);
- 10.0.2.0/24 (slirp4netns's network as a container sees it: 10.0.2.2 is the host's
  loopback) only for a task inside a network namespace the runtime's engine created, i.e.
  one that (or whose ancestor, before it forked this task) called unshare(CLONE_NEWNET),
  cloned with CLONE_NEWNET, or setns() into a namespace the engine made (an fd strace shows
  as /run/netns/..., or as net:[inode] with an inode other than the host's; any other fd
  counts as the host's, so a doubt forbids);
- anything else (another address or family) is an offence.

A task's namespace is decided from the trace itself, not from /proc afterwards (the task is
gone by then): walk back from the syscall to the task's own last unshare/setns, else to the
clone() that made it, in its parent, at that point of the parent's life.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

TRACE_ARGS = [
    "-f",
    "-q",
    "-y",
    "--seccomp-bpf",
    "-e",
    "signal=none",
    "-e",
    "trace=connect,sendto,sendmsg,sendmmsg,clone,clone3,fork,vfork,unshare,setns,execve",
]
SENDS = ("connect", "sendto", "sendmsg", "sendmmsg")
CLONES = ("clone", "clone3", "fork", "vfork")
SLIRP_NETWORK = ipaddress.ip_network("10.0.2.0/24")
# Name-service daemons reached over AF_UNIX: a lookup through them is still a lookup.
RESOLVER_SOCKETS = ("/systemd/resolve/",)
NSCD_SOCKET = "nscd/socket"
NETNS_DIRS = ("/run/netns/", "/var/run/netns/")
# Programs whose one job is to look a name up (mariadb-install-db ran resolveip).
LOOKUP_PROGRAMS = ("resolveip", "nslookup", "dig", "host", "getent")

_LINE = re.compile(r"^(\d+) +(.*)$")
_CALL = re.compile(r"^(\w+)\((.*)$")
_RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
_RETURN = re.compile(r"\) += (-?\d+)")
_FAMILY = re.compile(r"\{sa_family=(AF_\w+|\d+)([^}]*)\}")
_PORT = re.compile(r"sin6?_port=htons\((\d+)\)")
_ADDR4 = re.compile(r'sin_addr=inet_addr\("([^"]+)"\)')
_ADDR6 = re.compile(r'inet_pton\(AF_INET6, "([^"]+)"')
_PATH = re.compile(r'sun_path=(@?"[^"]*")')
_NET_NS = re.compile(r"net:\[(\d+)\]")
_EXEC = re.compile(r'^"([^"]+)"(?:, \["([^"]*)")?')


@dataclass(frozen=True)
class Send:
    index: int
    pid: int
    call: str
    family: str
    address: str | None
    port: int | None
    line: str


@dataclass(frozen=True)
class Offence:
    send: Send
    why: str
    program: str

    def __str__(self) -> str:
        return f"{self.why} by {self.program} (pid {self.send.pid}): {self.send.line}"


@dataclass
class _Trace:
    lines: list[str]
    sends: list[Send]
    # pid -> [(index, "new" | "net:[inode]")]: its own namespace changes.
    ns_changes: dict[int, list[tuple[int, str]]]
    # child pid -> [(clone entry index, parent pid, CLONE_NEWNET?)]
    births: dict[int, list[tuple[int, int, bool]]]
    exits: dict[int, list[int]]
    execs: dict[int, list[tuple[int, str]]]


def offences(log: Path, host_netns: str) -> list[Offence]:
    """Every send in `log` the rule above forbids; `host_netns` is the host's
    `net:[inode]` (os.readlink("/proc/self/ns/net") in the test)."""
    trace = _parse(log.read_text(encoding="utf-8", errors="replace").splitlines())
    found = []
    for send in trace.sends:
        why = _forbidden(send, trace, host_netns)
        if why is not None:
            found.append(Offence(send, why, _program(trace, send.pid, send.index)))
    return found


def sends(log: Path) -> list[Send]:
    """Every connect/send with its destination, allowed or not (for a test's own checks)."""
    return _parse(log.read_text(encoding="utf-8", errors="replace").splitlines()).sends


def lookups(log: Path) -> list[str]:
    """Every run of a program whose job is a name lookup, as "program args"."""
    found = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        matched = re.search(r'execve\("([^"]+)", \[([^\]]*)\]', line)
        if matched and Path(matched.group(1)).name in LOOKUP_PROGRAMS:
            found.append(line)
    return found


def programs(log: Path) -> set[str]:
    """Every program a traced task ran (successful execve)."""
    trace = _parse(log.read_text(encoding="utf-8", errors="replace").splitlines())
    return {name for runs in trace.execs.values() for _, name in runs}


def _forbidden(send: Send, trace: _Trace, host_netns: str) -> str | None:
    if send.family == "AF_UNIX":
        path = send.address or ""
        connected = not re.search(r"\) += -1 ", send.line)
        if any(name in path for name in RESOLVER_SOCKETS):
            return f"a name-service lookup through {path}"
        if NSCD_SOCKET in path and connected and send.call == "connect":
            return f"a connection to nscd ({path}), which answers host lookups"
        return None
    if send.family in ("AF_NETLINK", "AF_UNSPEC", "none"):
        return None
    if send.family not in ("AF_INET", "AF_INET6") or send.address is None:
        return f"a {send.family} destination"
    if send.port == 53:
        return f"a DNS query to {send.address}:53"
    address = ipaddress.ip_address(send.address)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None
    if address in SLIRP_NETWORK:
        netns = _netns(trace, send.pid, send.index, host_netns)
        if netns not in (host_netns, "host"):
            return None
        return f"{send.address}:{send.port} (slirp's network) from the host's namespace"
    return f"{send.address}:{send.port}, outside loopback"


def _netns(trace: _Trace, pid: int, index: int, host: str, depth: int = 0) -> str:
    """The network namespace `pid` was in at line `index` ("new" for one it unshared)."""
    if depth > 200:
        return host
    start = max((i for i in trace.exits.get(pid, []) if i < index), default=-1)
    own = [(i, ns) for i, ns in trace.ns_changes.get(pid, []) if start < i < index]
    if own:
        return own[-1][1]
    births = [b for b in trace.births.get(pid, []) if b[0] < index]
    if not births:
        return host  # a root of the trace: it started in the host's namespace
    at, parent, new_net = births[-1]
    return "new" if new_net else _netns(trace, parent, at, host, depth + 1)


def _program(trace: _Trace, pid: int, index: int) -> str:
    for _ in range(200):
        start = max((i for i in trace.exits.get(pid, []) if i < index), default=-1)
        named = [name for i, name in trace.execs.get(pid, []) if start < i < index]
        if named:
            return named[-1]
        births = [b for b in trace.births.get(pid, []) if b[0] < index]
        if not births:
            return "the traced command"
        index, pid = births[-1][0], births[-1][1]
    return "?"


def _parse(lines: list[str]) -> _Trace:
    trace = _Trace(lines, [], {}, {}, {}, {})
    # pid -> (entry index, call, entry text) of a syscall still unfinished
    pending: dict[int, tuple[int, str, str]] = {}
    for index, raw in enumerate(lines):
        matched = _LINE.match(raw)
        if matched is None:
            continue
        pid, rest = int(matched.group(1)), matched.group(2)
        if rest.startswith("+++"):
            trace.exits.setdefault(pid, []).append(index)
            continue
        resumed = _RESUMED.match(rest)
        if resumed is not None:
            entry = pending.pop(pid, None)
            if entry is not None and entry[1] == resumed.group(1):
                text = entry[2] + resumed.group(2)
                _record(trace, pid, entry[0], entry[1], text, f"{pid} {entry[1]}({text}")
            continue
        call = _CALL.match(rest)
        if call is None:
            continue
        name, args = call.group(1), call.group(2)
        if args.endswith("<unfinished ...>"):
            pending[pid] = (index, name, args.removesuffix("<unfinished ...>"))
            continue
        _record(trace, pid, index, name, args, raw)
    # Killed in the syscall: its destination was decoded at entry all the same.
    for pid, (index, name, args) in pending.items():
        if name in SENDS:
            _record(trace, pid, index, name, args, f"{pid} {name}({args}<unfinished ...>")
    trace.sends.sort(key=lambda send: send.index)
    return trace


def _record(trace: _Trace, pid: int, index: int, name: str, text: str, raw: str) -> None:
    returned = _RETURN.search(text)
    value = int(returned.group(1)) if returned else None
    if name in SENDS:
        trace.sends.extend(_sends(index, pid, name, text, raw))
    elif name in CLONES and value is not None and value > 0:
        trace.births.setdefault(value, []).append((index, pid, "CLONE_NEWNET" in text))
    elif name == "unshare" and "CLONE_NEWNET" in text and value == 0:
        trace.ns_changes.setdefault(pid, []).append((index, "new"))
    elif name == "setns" and value == 0:
        found = _NET_NS.search(text)
        fd = text.split(",", 1)[0]
        if found is not None:
            trace.ns_changes.setdefault(pid, []).append((index, f"net:[{found.group(1)}]"))
        elif any(f"<{directory}" in fd for directory in NETNS_DIRS):
            trace.ns_changes.setdefault(pid, []).append((index, "new"))
        elif "CLONE_NEWNET" in text or "net" in fd:
            trace.ns_changes.setdefault(pid, []).append((index, "host"))
    elif name == "execve":
        program = _EXEC.match(text)
        if program is not None and value == 0:
            path, argv0 = program.group(1), program.group(2)
            shown = f"{path} ({argv0})" if argv0 and Path(argv0).name != Path(path).name else path
            trace.execs.setdefault(pid, []).append((index, shown))


def _sends(index: int, pid: int, name: str, text: str, raw: str) -> list[Send]:
    found = []
    for family, body in _FAMILY.findall(text):
        address: str | None = None
        if family == "AF_INET":
            match = _ADDR4.search(body)
            address = match.group(1) if match else None
        elif family == "AF_INET6":
            match = _ADDR6.search(body)
            address = match.group(1) if match else None
        elif family == "AF_UNIX":
            match = _PATH.search(body)
            address = match.group(1) if match else None
        port = _PORT.search(body)
        found.append(
            Send(index, pid, name, family, address, int(port.group(1)) if port else None, raw)
        )
    if not found:  # no address: a send on a connected socket, or sendmsg(msg_name=NULL)
        found.append(Send(index, pid, name, "none", None, None, raw))
    return found
