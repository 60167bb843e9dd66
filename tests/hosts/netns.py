"""Hosts made as Linux network namespaces of this machine, joined by one private /24.

``Network.create(["jao", "eu", "na"])`` makes one namespace per host, named
``drwlab-<pid>-<host>`` after the test process that made it. The first host
holds a bridge; every other host is joined to it by a veth pair whose two
ends are created directly inside the namespaces, so nothing appears in the
machine's own network and the /24 exists only inside the hosts. Each host's
loopback is up as well.

``Host.start`` runs a command inside a host (``ip netns exec``), in its own
process group, output to a log file; the process gets SIGTERM if the test
process dies. ``Network.remove`` kills every process left in the hosts and
deletes the namespaces; ``remove_leftovers`` does the same for the hosts of a
test process that no longer exists (a run killed before its finalizers).
Everything here needs root and ``ip`` (iproute2).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers import _die_with_parent

SUBNET = "10.215.15"
"""The private /24 of the hosts (only inside their namespaces): host n is SUBNET.(n+1)."""
PREFIX = "drwlab-"
_OURS = re.compile(rf"^{PREFIX}(\d+)-[a-z0-9]+$")
IP_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


def _ip(*args: str) -> str:
    """Run ``ip ARGS``; its stdout. RuntimeError with ip's message when it fails."""
    result = subprocess.run(
        ["ip", *args], capture_output=True, text=True, timeout=IP_TIMEOUT, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def _namespaces() -> list[str]:
    """Names of the network namespaces of this machine (``ip netns list``)."""
    return [line.split()[0] for line in _ip("netns", "list").splitlines() if line.strip()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pids_in(namespace: str) -> list[int]:
    try:
        return [int(pid) for pid in _ip("netns", "pids", namespace).split()]
    except RuntimeError:  # already gone
        return []


def _delete(namespace: str) -> None:
    """Kill every process inside ``namespace`` (bounded wait), then delete it."""
    deadline = time.monotonic() + STOP_TIMEOUT
    while (pids := _pids_in(namespace)) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    with contextlib.suppress(RuntimeError):
        _ip("netns", "delete", namespace)


def remove_leftovers() -> list[str]:
    """Delete the hosts of test processes that died before removing them; their names."""
    removed = []
    for name in _namespaces():
        match = _OURS.match(name)
        if match and not _alive(int(match.group(1))):
            _delete(name)
            removed.append(name)
    return removed


@dataclass
class Host:
    """One host: a namespace, its address on the /24, and the processes started in it."""

    name: str
    namespace: str
    address: str
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def command(self, *args: str) -> list[str]:
        """``args`` as a command line that runs inside this host."""
        return ["ip", "netns", "exec", self.namespace, *args]

    def start(
        self, label: str, args: Sequence[str], env: dict[str, str], cwd: Path | None = None
    ) -> None:
        """Start ``args`` in this host in the background; output in ``logs/<host>-<label>.log``."""
        with self.log_path(label).open("ab") as log:
            self.processes[label] = subprocess.Popen(
                self.command(*args),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def kill(self, label: str) -> None:
        """SIGKILL process ``label`` and its process group (a crash, not a clean stop)."""
        process = self.processes[label]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(STOP_TIMEOUT)

    def run(
        self, args: Sequence[str], env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """Run ``args`` in this host to the end (at most ``timeout`` s)."""
        return subprocess.run(
            self.command(*args),
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )

    def running(self, text: str) -> bool:
        """True if a process inside this host has ``text`` in its command line."""
        for pid in _pids_in(self.namespace):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:  # it ended meanwhile
                continue
            if text.encode() in command:
                return True
        return False

    def log_path(self, label: str) -> Path:
        return self.logs / f"{self.name}-{label}.log"

    def dead(self) -> dict[str, int | None]:
        """Processes that exited, with their exit status."""
        return {label: p.poll() for label, p in self.processes.items() if p.poll() is not None}

    def terminate(self, labels: Sequence[str]) -> dict[str, int | None]:
        """SIGTERM to processes ``labels``; each one's exit status (None: had to be killed)."""
        chosen = {label: self.processes[label] for label in labels}
        for process in chosen.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        deadline = time.monotonic() + STOP_TIMEOUT
        for label, process in chosen.items():
            try:
                codes[label] = process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(STOP_TIMEOUT)
                codes[label] = None
        return codes


class Network:
    """Hosts joined by a bridge in the first one (module docstring)."""

    def __init__(self, hosts: list[Host]) -> None:
        self.hosts = {host.name: host for host in hosts}

    @classmethod
    def create(cls, names: Sequence[str], logs: Path) -> Network:
        """The hosts ``names``, the first one holding the bridge; removed again on failure."""
        owner = os.getpid()
        hosts = [
            Host(name, f"{PREFIX}{owner}-{name}", f"{SUBNET}.{n + 1}", logs)
            for n, name in enumerate(names)
        ]
        network = cls(hosts)
        try:
            network._wire()
        except BaseException:
            network.remove()
            raise
        return network

    def _wire(self) -> None:
        hub, *others = self.hosts.values()
        for host in self.hosts.values():
            _ip("netns", "add", host.namespace)
            _ip("-n", host.namespace, "link", "set", "lo", "up")
        _ip("-n", hub.namespace, "link", "add", "br0", "type", "bridge")
        _ip("-n", hub.namespace, "link", "set", "br0", "up")
        _ip("-n", hub.namespace, "addr", "add", f"{hub.address}/24", "dev", "br0")
        for host in others:
            port = f"to-{host.name}"
            _ip(
                "link",
                "add",
                port,
                "netns",
                hub.namespace,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                host.namespace,
            )
            _ip("-n", hub.namespace, "link", "set", port, "master", "br0")
            _ip("-n", hub.namespace, "link", "set", port, "up")
            _ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
            _ip("-n", host.namespace, "link", "set", "eth0", "up")

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def remove(self) -> None:
        """Kill what runs in the hosts and delete their namespaces (safe to call twice)."""
        for host in self.hosts.values():
            for label in host.processes:
                with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
                    host.kill(label)
        existing = set(_namespaces())
        for host in self.hosts.values():
            if host.namespace in existing:
                _delete(host.namespace)
