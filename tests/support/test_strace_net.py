"""The rule tests/integration/test_sandbox_isolation.py judges strace logs by, on logs
written by hand in strace 6's format."""

from __future__ import annotations

from pathlib import Path

from tests.support import strace_net

HOST = "net:[4026531833]"
INET = '{{sa_family=AF_INET, sin_port=htons({port}), sin_addr=inet_addr("{ip}")}}'


def connect(pid: int, ip: str, port: int = 80) -> str:
    return f"{pid} connect(3<socket:[1]>, {INET.format(ip=ip, port=port)}, 16) = 0"


def judged(tmp_path: Path, *lines: str) -> list[str]:
    log = tmp_path / "trace"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [o.why for o in strace_net.offences(log, HOST)]


def test_loopback_unix_netlink_and_addressless_sends_are_allowed(tmp_path: Path) -> None:
    six = (
        "{sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), "
        'inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}'
    )
    found = judged(
        tmp_path,
        connect(10, "127.0.0.1", 4566),
        connect(10, "127.3.0.1"),
        '10 connect(4<socket:[2]>, {sa_family=AF_UNIX, sun_path="/run/podman/podman.sock"}, '
        "110) = 0",
        '10 sendto(5<socket:[3]>, "\\24", 20, 0, {sa_family=AF_NETLINK, nl_pid=0, '
        "nl_groups=00000000}, 12) = 20",
        '10 sendto(3<socket:[1]>, "GET / HTTP/1.1", 14, MSG_NOSIGNAL, NULL, 0) = 14',
        f"10 connect(6<socket:[4]>, {six}, 28) = 0",
        '10 connect(7<socket:[5]>, {sa_family=AF_UNSPEC, sa_data=""}, 16) = 0',
        # glibc asks nscd for users and groups too; where none runs, the connect fails.
        '10 connect(4<socket:[2]>, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, '
        "110) = -1 ENOENT (No such file or directory)",
    )
    assert found == []


def test_outside_addresses_dns_and_name_service_sockets_are_offences(tmp_path: Path) -> None:
    found = judged(
        tmp_path,
        connect(10, "52.119.1.1", 443),
        connect(10, "127.0.0.53", 53),
        '10 connect(4<socket:[2]>, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = 0',
        '10 connect(4<socket:[2]>, {sa_family=AF_UNIX, sun_path="/run/systemd/resolve/'
        'io.systemd.Resolve"}, 110) = -1 ENOENT (No such file or directory)',
        '10 sendto(3<socket:[1]>, "x", 1, 0, {sa_family=AF_INET, sin_port=htons(53), '
        'sin_addr=inet_addr("10.255.255.53")}, 16 <unfinished ...>',
        "10 <... sendto resumed>) = 1",
    )
    assert found == [
        "52.119.1.1:443, outside loopback",
        "a DNS query to 127.0.0.53:53",
        'a connection to nscd ("/var/run/nscd/socket"), which answers host lookups',
        'a name-service lookup through "/run/systemd/resolve/io.systemd.Resolve"',
        "a DNS query to 10.255.255.53:53",
    ]


def test_slirp_addresses_are_allowed_only_inside_a_namespace_the_engine_made(
    tmp_path: Path,
) -> None:
    found = judged(
        tmp_path,
        connect(10, "10.0.2.2", 3306),  # the host's own namespace: an offence
        "10 unshare(CLONE_NEWNS|CLONE_NEWNET) = 0",
        "10 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD <unfinished ...>",
        connect(11, "10.0.2.2", 3306),  # the child, before the parent's clone returned
        "10 <... clone resumed>, child_tidptr=0x7f) = 11",
        "20 setns(5</run/netns/netns-69f6d765>, CLONE_NEWNET) = 0",
        connect(20, "10.0.2.2", 3306),
        f"20 setns(6<{HOST}>, CLONE_NEWNET) = 0",
        connect(20, "10.0.2.3", 80),  # back on the host
        "20 setns(7</proc/1/ns/net>, 0) = 0",  # which namespace is unknown: the host's
        connect(20, "10.0.2.4", 80),
        "20 setns(8<net:[4026532999]>, CLONE_NEWNET) = 0",
        connect(20, "10.0.2.2", 5432),
        "30 clone3({flags=CLONE_NEWNET|CLONE_VFORK, exit_signal=SIGCHLD}, 88) = 31",
        connect(31, "10.0.2.2", 3306),
    )
    assert found == [
        "10.0.2.2:3306 (slirp's network) from the host's namespace",
        "10.0.2.3:80 (slirp's network) from the host's namespace",
        "10.0.2.4:80 (slirp's network) from the host's namespace",
    ]


def test_a_reused_pid_does_not_inherit_the_namespace_of_the_task_before_it(
    tmp_path: Path,
) -> None:
    found = judged(
        tmp_path,
        "10 unshare(CLONE_NEWNET) = 0",
        "10 clone(child_stack=NULL, flags=SIGCHLD) = 11",
        connect(11, "10.0.2.2"),
        "11 +++ exited with 0 +++",
        "12 vfork() = 11",  # pid 11 again, now a child of a host process
        connect(11, "10.0.2.2"),
    )
    assert found == ["10.0.2.2:80 (slirp's network) from the host's namespace"]


def test_programs_that_look_names_up_are_found(tmp_path: Path) -> None:
    log = tmp_path / "trace"
    log.write_text(
        '24824 execve("/usr/bin/resolveip", ["/usr/bin/resolveip", "vm"], 0x56 /* 46 vars */) = 0\n'
        '24825 execve("/usr/bin/chown", ["chown", "mysql"], 0x56 /* 46 vars */) = 0\n',
        encoding="utf-8",
    )
    assert [line.split()[0] for line in strace_net.lookups(log)] == ["24824"]
