"""The cache's HTTP server: files and listings inside the root, nothing outside it."""

from __future__ import annotations

import http.client
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from drwlab.errors import CacheError
from drwlab.fileserver import FileServer

SECRET = b"top secret, outside the cache"


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    root = tmp_path / "cache"
    weblog = root / "weblogs" / "weblog-X1-X1-Xa1-2018_07_19T07_10_03.781"
    weblog.mkdir(parents=True)
    (weblog / "index.html").write_text("<h1>the weblog</h1>")
    products = root / "2015.1.00657.S_2018_07_19T07_10_03.781" / "SOUS"
    products.mkdir(parents=True)
    (root / "product-0.data").write_bytes(b"product zero")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "index.html").write_bytes(SECRET)
    return root


@pytest.fixture
def server(cache: Path) -> Iterator[FileServer]:
    with FileServer(cache, name="EU") as running:
        yield running


def get(server: FileServer, raw_path: str) -> tuple[int, bytes]:
    """GET ``raw_path`` exactly as written: http.client does not normalise ``..``."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.putrequest("GET", raw_path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def raw_get(server: FileServer, request_line: bytes) -> bytes:
    """Send a hand-written request line: no client library gets a say."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request_line + b"\r\nHost: x\r\n\r\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_files_are_served(server: FileServer) -> None:
    assert get(server, "/product-0.data") == (200, b"product zero")


def test_a_weblog_directory_serves_its_index(server: FileServer) -> None:
    status, body = get(server, "/weblogs/weblog-X1-X1-Xa1-2018_07_19T07_10_03.781/")
    assert status == 200 and b"the weblog" in body


def test_directories_are_listed_so_people_can_browse(server: FileServer) -> None:
    status, body = get(server, "/")
    assert status == 200
    assert b"weblogs/" in body and b"2015.1.00657.S_2018_07_19T07_10_03.781/" in body
    status, body = get(server, "/weblogs/")
    assert status == 200 and b"weblog-X1-X1-Xa1" in body


def test_a_missing_file_is_404(server: FileServer) -> None:
    assert get(server, "/nothing-here")[0] == 404


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/weblogs/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/%2e%2e/secret.txt",
        "/weblogs/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/..%2fsecret.txt",
        "/..%5csecret.txt",
        "//etc/passwd",
        "/etc/passwd",
        "http://127.0.0.1/../secret.txt",
    ],
)
def test_paths_outside_the_cache_are_never_served(server: FileServer, path: str) -> None:
    status, body = get(server, path)
    assert status in (403, 404)
    assert SECRET not in body and b"root:" not in body


def test_a_raw_dot_dot_request_line_is_refused(server: FileServer) -> None:
    response = raw_get(server, b"GET /../../../../secret.txt HTTP/1.0")
    assert response.startswith(b"HTTP/1.0 404")
    assert SECRET not in response


def test_symlinks_pointing_outside_the_cache_are_404(cache: Path, server: FileServer) -> None:
    (cache / "escape.txt").symlink_to(cache.parent / "secret.txt")
    (cache / "escape-dir").symlink_to(cache.parent / "outside")
    (cache / "weblogs" / "index.html").symlink_to(cache.parent / "secret.txt")
    for path in ("/escape.txt", "/escape-dir/", "/escape-dir/index.html", "/weblogs/"):
        status, body = get(server, path)
        assert status == 404, path
        assert SECRET not in body


def test_symlinks_inside_the_cache_are_followed(cache: Path, server: FileServer) -> None:
    (cache / "alias.data").symlink_to(cache / "product-0.data")
    assert get(server, "/alias.data") == (200, b"product zero")


def test_it_binds_to_loopback_on_a_free_port_by_default(server: FileServer) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}/"
    assert server.port > 0
    assert server._server is not None and server._server.server_address[0] == "127.0.0.1"


def test_stop_closes_the_socket_and_ends_the_thread(cache: Path) -> None:
    server = FileServer(cache)
    server.start()
    port, thread = server.port, server._thread
    server.stop(timeout=1.0)
    assert thread is not None and not thread.is_alive()
    assert not server.running
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    server.stop()  # idempotent


def test_two_servers_get_different_ports_and_a_taken_port_is_a_clear_error(cache: Path) -> None:
    with FileServer(cache) as first, FileServer(cache) as second:
        assert first.port != second.port
        with pytest.raises(CacheError, match=f"cannot serve busy on 127.0.0.1:{first.port}"):
            FileServer(cache, port=first.port, name="busy").start()


def test_a_missing_root_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CacheError, match="is not a directory"):
        FileServer(tmp_path / "none").start()


def test_requests_are_logged_not_printed(
    server: FileServer, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.DEBUG, logger="drwlab.fileserver"):
        get(server, "/product-0.data")
        get(server, "/../secret.txt")
    assert any("GET /product-0.data" in r.getMessage() for r in caplog.records)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
