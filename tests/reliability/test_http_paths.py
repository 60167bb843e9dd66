"""HTTP requests for paths outside a cache or the dashboard: refused, and nothing outside is read.

Requests go out over a raw socket, byte for byte, so no client library
normalises ``..`` or decodes ``%2e`` before the server sees it. A directory
beside the cache holds a secret file; an inotify watch on that directory
proves that the server never opened it (nor listed the directory), and every
answer is checked not to carry the secret.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from drwlab.cli import build_parser
from drwlab.fileserver import FileServer
from drwlab.sandbox import Sandbox
from drwlab.settings import Settings
from drwlab.store import Store, open_store, sqlite_url
from drwlab.views.dashboard import Dashboard
from tests.reliability.watch import AccessWatcher

SECRET = b"TOP-SECRET-CONTENT"
REFUSED = (400, 403, 404)


def raw_get(url: str, target: str, timeout: float = 10.0) -> tuple[int, bytes]:
    """Send ``GET <target>`` exactly as given; the status and the whole answer."""
    address = urlsplit(url)
    with socket.create_connection((str(address.hostname), int(address.port or 80)), timeout) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    parts = status_line.split(" ")
    assert len(parts) >= 2 and parts[1].isdigit(), f"no HTTP answer to {target!r}: {answer[:200]!r}"
    return int(parts[1]), answer


def escaping_targets(outside: Path) -> list[str]:
    """Request targets aimed at ``outside/secret.txt`` from a server rooted beside it."""
    name = outside.name
    absolute = str(outside / "secret.txt")
    return [
        f"/../{name}/secret.txt",
        f"/%2e%2e/{name}/secret.txt",
        f"/%2E%2E/{name}/secret.txt",
        f"/..%2f{name}%2fsecret.txt",
        f"/%2e%2e%2f{name}%2fsecret.txt",
        f"/%2e%2e%2F{name}%2Fsecret.txt",
        f"/weblogs/../../{name}/secret.txt",
        f"/weblogs/%2e%2e/%2e%2e/{name}/secret.txt",
        f"/./../{name}/secret.txt",
        f"/....//{name}/secret.txt",
        f"/%252e%252e/{name}/secret.txt",
        f"/..\\{name}\\secret.txt",
        f"/%5c..%5c{name}%5csecret.txt",
        absolute,
        "/" + absolute,
        quote(absolute, safe=""),
        f"http://127.0.0.1/../{name}/secret.txt",
        f"/../{name}/",
        "/link-to-secret",
        "/link-to-outside/secret.txt",
        "/link-to-outside/",
        "/weblogs/absolute-link",
        "/weblogs/w1/escape",
        f"/../{name}/secret.txt%00.html",
        "/weblogs/w1/index.html%00",
    ]


@pytest.fixture
def cache(tmp_path: Path, secret_dir: Path) -> Path:
    """A cache with a weblog, and symbolic links pointing out of it."""
    root = tmp_path / "cache"
    (root / "weblogs" / "w1").mkdir(parents=True)
    (root / "weblogs" / "w1" / "index.html").write_text("<h1>weblog</h1>")
    (root / "link-to-secret").symlink_to(Path("..") / secret_dir.name / "secret.txt")
    (root / "link-to-outside").symlink_to(Path("..") / secret_dir.name)
    (root / "weblogs" / "absolute-link").symlink_to(secret_dir / "secret.txt")
    (root / "weblogs" / "w1" / "escape").symlink_to(secret_dir)
    return root


@pytest.fixture
def file_server(cache: Path) -> Iterator[FileServer]:
    with FileServer(cache, name="cache.JAO") as server:
        yield server


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    with open_store(sqlite_url(tmp_path / "drwlab.db")) as opened:
        yield opened


@pytest.fixture
def dashboard(sqlite_store: Store) -> Iterator[Dashboard]:
    with Dashboard(sqlite_store) as running:
        yield running


def test_the_cache_server_serves_its_own_files(file_server: FileServer) -> None:
    status, answer = raw_get(file_server.url, "/weblogs/w1/index.html")
    assert status == 200 and b"<h1>weblog</h1>" in answer


def test_the_watch_does_see_a_server_read_a_file(secret_dir: Path) -> None:
    # the control for the tests below: an empty event list means something
    with FileServer(secret_dir) as server, AccessWatcher(secret_dir) as watcher:
        status, answer = raw_get(server.url, "/secret.txt")
        touched = watcher.events()
    assert status == 200 and SECRET in answer
    assert "open secret.txt" in touched


def test_no_path_reaches_outside_the_cache(file_server: FileServer, secret_dir: Path) -> None:
    answers = {}
    with AccessWatcher(secret_dir) as watcher:
        for target in escaping_targets(secret_dir):
            answers[target] = raw_get(file_server.url, target)
        touched = watcher.events()
    wrong = {t: status for t, (status, _) in answers.items() if status not in REFUSED}
    leaked = [t for t, (_, answer) in answers.items() if SECRET in answer]
    assert wrong == {}, "paths outside the cache must get 400/403/404"
    assert leaked == [], "the secret was served"
    assert touched == [], f"the server opened files outside the cache: {touched}"


def test_a_sibling_directory_sharing_the_cache_prefix_is_outside(
    tmp_path: Path, cache: Path
) -> None:
    sibling = tmp_path / "cache-old"  # "/cache-old" starts with "/cache": still outside
    sibling.mkdir()
    (sibling / "secret.txt").write_bytes(SECRET)
    (cache / "prefix-link").symlink_to(sibling / "secret.txt")
    with FileServer(cache) as server, AccessWatcher(sibling) as watcher:
        status, answer = raw_get(server.url, "/prefix-link")
        touched = watcher.events()
    assert status in REFUSED and SECRET not in answer
    assert touched == []


def test_the_dashboard_serves_its_page_and_nothing_from_disk(
    dashboard: Dashboard, secret_dir: Path
) -> None:
    assert raw_get(dashboard.url, "/")[0] == 200
    targets = [
        *escaping_targets(secret_dir),
        "/etc/passwd",
        "//etc/passwd",
        "/api/snapshot/../../../etc/passwd",
        "/api/%2e%2e/%2e%2e/etc/passwd",
        "/api/snapshot%2f..%2f..%2fetc%2fpasswd",
        "/events/../../etc/passwd",
        "/%2F",
        "/static/../../etc/passwd",
    ]
    answers = {}
    with AccessWatcher(secret_dir) as watcher:
        for target in targets:
            answers[target] = raw_get(dashboard.url, target)
        touched = watcher.events()
    wrong = {t: status for t, (status, _) in answers.items() if status != 404}
    assert wrong == {}, "the dashboard has three paths; everything else is a 404"
    assert not [t for t, (_, a) in answers.items() if SECRET in a or b"root:" in a]
    assert touched == []


# -- where the servers listen ----------------------------------------------------------
def listening_hosts(port: int) -> set[str]:
    """Local addresses of the listening TCP sockets on ``port`` (Linux: /proc/net/tcp*)."""
    hosts: set[str] = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                hosts.add(_address(bytes.fromhex(address), size))
    return hosts


def _address(raw: bytes, size: int) -> str:
    words = [raw[i : i + 4][::-1] for i in range(0, size, 4)]  # each 32-bit word is host-endian
    family = socket.AF_INET if size == 4 else socket.AF_INET6
    return socket.inet_ntop(family, b"".join(words))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/net/tcp")
def test_every_server_of_a_sandbox_listens_on_loopback_only(tmp_path: Path) -> None:
    with Sandbox(workdir=tmp_path, time_scale=0.0, seed=1, failure_rate=0.0) as sandbox:
        urls = sandbox.urls
        ports = {name: int(urlsplit(url).port or 0) for name, url in urls.items()}
        hosts = {name: listening_hosts(port) for name, port in ports.items()}
    assert {"cache.EU", "cache.JAO", "dashboard"} <= set(urls)
    assert all(urlsplit(url).hostname == "127.0.0.1" for url in urls.values()), urls
    assert hosts == {name: {"127.0.0.1"} for name in hosts}, hosts


def test_the_cli_servers_bind_to_loopback_unless_told_otherwise() -> None:
    parser = build_parser(Settings())
    cache = parser.parse_args(["run", "replicated-cache", "-e", "JAO", "-lc", "/tmp/c"])
    dashboard = parser.parse_args(["dashboard"])
    assert (cache.host, dashboard.host) == ("127.0.0.1", "127.0.0.1")
    assert FileServer(Path(".")).host == "127.0.0.1"
