"""A CouchDB password, given in the store URL or in DRWLAB_COUCHDB_PASSWORD, never shows.

The server is the session's pouchdb-server behind a proxy that wants the
password (pouchdb-server cannot take one itself). Everything a person or a
log collector could see is gathered and searched for the password, in its
plain, URL-encoded and HTTP Basic forms: log records at DEBUG (every logger,
urllib3's included), the reprs of the store, bus, sandbox and settings, the
message and traceback of every error (server down, wrong password, missing
document, conflict, a request the server refuses), the dashboard page and
its JSON API, the HTML report, every document in every database, and the
stdout/stderr of CLI actors run with ``--log-level DEBUG``.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from drwlab.actors.xtss import XtssClient
from drwlab.bus import MessageBus
from drwlab.errors import DrwlabError, StoreError
from drwlab.sandbox import Sandbox
from drwlab.settings import Settings, from_environment
from drwlab.store import DATABASES, Store, open_store
from drwlab.store.couchdb import CouchDBStore
from drwlab.views.dashboard import Dashboard
from tests.reliability.files import wait_until
from tests.servers import CouchServer, auth_proxy

USER = "admin"
PASSWORD = f"Pw-{secrets.token_hex(6)}:@/%"
PROG = "2015.1.00657.S"


def password_forms(password: str = PASSWORD) -> list[str]:
    """The password as it could leak: plain, URL-encoded, inside a Basic header."""
    basic = base64.b64encode(f"{USER}:{password}".encode()).decode()
    return [password, quote(password, safe=""), quote(password), basic, password[:-4]]


def leaks(text: str) -> str | None:
    """Where the password shows in ``text`` (with some context), or None.

    Whitespace is taken out first: a terminal or argparse may wrap a long URL.
    """
    joined = "".join(text.split())
    found = [form for form in password_forms() if form in joined]
    return f"...{_around(joined, found[0])}..." if found else None


def assert_hidden(what: str, text: str) -> None:
    where = leaks(text)
    assert where is None, f"the password shows in {what}: {where}"


def assert_all_hidden(shown: dict[str, str]) -> None:
    """Every place, all at once: one run names every leak."""
    found = {what: where for what, text in shown.items() if (where := leaks(text))}
    assert found == {}, "the password shows in: " + "; ".join(f"{k}: {v}" for k, v in found.items())


def _around(text: str, needle: str) -> str:
    at = text.index(needle)
    return text[max(0, at - 120) : at + len(needle) + 40]


def everything_shown(error: BaseException) -> str:
    """An error as a person sees it: message, repr and full traceback with causes."""
    return f"{error}\n{error!r}\n" + "".join(traceback.format_exception(error))


def with_password(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{USER}:{quote(PASSWORD, safe='')}@{parts.netloc}"


@pytest.fixture
def proxy(couch_server: CouchServer) -> Iterator[str]:
    """The session's server behind a proxy wanting USER and PASSWORD (URL without them)."""
    couch_server.drop_all_databases()
    with auth_proxy(couch_server.url, USER, PASSWORD) as url:
        yield url


def http_get(url: str, path: str) -> str:
    address = urlsplit(url)
    conn = http.client.HTTPConnection(str(address.hostname), address.port, timeout=20)
    try:
        conn.request("GET", path)
        return conn.getresponse().read().decode(errors="replace")
    finally:
        conn.close()


def first_event(url: str) -> str:
    """The first server-sent event of the dashboard (the page's live update)."""
    address = urlsplit(url)
    conn = http.client.HTTPConnection(str(address.hostname), address.port, timeout=20)
    try:
        conn.request("GET", "/events")
        response = conn.getresponse()
        data = b""
        while b"\n\n" not in data:
            data += response.read1(65536)
        return data.decode(errors="replace")
    finally:
        conn.close()


def all_documents(store: Store) -> str:
    return json.dumps({db: store.all_docs(db) for db in DATABASES}, default=str)


# -- in one process: a sandbox on a password-protected server ----------------------------
def test_a_password_in_the_url_never_shows_while_a_sandbox_runs_and_fails(
    couch_server: CouchServer, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    couch_server.drop_all_databases()
    uid = "uid://X1/X1/Xp1"
    with auth_proxy(couch_server.url, USER, PASSWORD) as proxy_url:
        sandbox = Sandbox(
            store=with_password(proxy_url),
            workdir=tmp_path,
            time_scale=0.0,
            seed=1,
            failure_rate=0.0,
            autopilot="Pass",
        )
        try:
            sandbox.launch(PROG, uid)
            sandbox.wait_for(uid, "Delivered", timeout=90)
            shown = what_a_sandbox_shows(sandbox, tmp_path)
            couch_server.pause()  # the server goes down under the running actors
            try:
                wait_until(lambda: unreachable_logged(caplog), 20, "the actors to log the outage")
                with pytest.raises(StoreError) as down:
                    sandbox.store.get("status-entities", "uid___X1_X1_Xp1")
                shown["error: server down"] = everything_shown(down.value)
            finally:
                couch_server.resume()
        finally:
            sandbox.stop()
    assert uid in shown["dashboard page"] and uid in shown["report"], "the views are real"
    shown["logs"] = caplog.text
    assert_all_hidden(shown)


def what_a_sandbox_shows(sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    dashboard = sandbox.urls["dashboard"]
    return {
        "reprs": " ".join(repr(x) for x in (sandbox, sandbox.store, sandbox.bus, sandbox.qa2)),
        "store url": sandbox.store.url,
        "sandbox urls": str(sandbox.urls),
        "dashboard page": http_get(dashboard, "/"),
        "dashboard API": http_get(dashboard, "/api/snapshot"),
        "dashboard events": first_event(dashboard),
        "report": sandbox.export_report(tmp_path / "report.html").read_text(),
        "databases": all_documents(sandbox.store),
    }


def unreachable_logged(caplog: pytest.LogCaptureFixture) -> bool:
    return any(
        record.levelno >= logging.WARNING and "cannot be reached" in record.getMessage()
        for record in caplog.records
    )


def test_errors_of_a_password_protected_store_never_show_the_password(proxy: str) -> None:
    errors: dict[str, BaseException] = {}
    store = open_store(with_password(proxy))
    try:
        store.put("msgq", {"_id": "m1"})
        for name, attempt in {
            "conflict": lambda: store.put("msgq", {"_id": "m1"}),
            "missing document": lambda: store.get("msgq", "nothing"),
            "missing database": lambda: store.all_docs("no-such-db"),
            "refused query": lambda: store.find("msgq", {"$and": [{"a": None}]}),
        }.items():
            try:
                attempt()
            except DrwlabError as error:
                errors[name] = error
        refused = CouchDBStore(proxy, user=USER, password=PASSWORD + "-wrong")
        with pytest.raises(StoreError) as denied:
            refused.get("msgq", "m1")
        errors["wrong password"] = denied.value
    finally:
        store.close()
    with pytest.raises(StoreError) as down:
        open_store(with_password(f"http://127.0.0.1:{_closed_port()}"))
    errors["server down"] = down.value
    assert {"conflict", "missing document", "wrong password", "server down"} <= set(errors)
    assert_all_hidden({f"the error ({name})": everything_shown(e) for name, e in errors.items()})


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_settings_and_sandbox_reprs_hide_the_password(tmp_path: Path) -> None:
    url = with_password("http://127.0.0.1:5984")
    settings = from_environment(
        {"DRWLAB_STORE": url, "DRWLAB_COUCHDB_USER": USER, "DRWLAB_COUCHDB_PASSWORD": PASSWORD}
    )
    assert settings.couchdb_password == PASSWORD
    assert_all_hidden(
        {
            "the repr of Settings from the environment": repr(settings),
            "the repr of Settings": repr(Settings(couchdb_password=PASSWORD)),
            "the repr of a Sandbox": repr(Sandbox(store=url, workdir=tmp_path, start=False)),
        }
    )


# -- CLI actors, password in the environment or in the URL --------------------------------
def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRWLAB_")}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


def drwlab(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drwlab", "--log-level", "DEBUG", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_cli_actors_never_show_the_password_in_their_output(proxy: str, tmp_path: Path) -> None:
    by_env = cli_env(DRWLAB_COUCHDB_USER=USER, DRWLAB_COUCHDB_PASSWORD=PASSWORD)
    in_url = with_password(proxy)
    outputs: dict[str, str] = {}
    xtss = subprocess.Popen(
        [sys.executable, "-m", "drwlab", "--log-level", "DEBUG", "--store", proxy, "run", "xtss"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=by_env,
    )
    try:
        with open_store(in_url) as store, MessageBus(store) as bus:
            client = XtssClient(bus, sender="test", timeout=5)
            wait_until(lambda: _answers(client), 60, "the XTSS process to answer")
        for name, args, env in [
            ("launch (env)", ("--store", proxy, "launch", PROG, "uid://X1/X1/Xq1"), by_env),
            ("launch (url)", ("--store", in_url, "launch", PROG, "uid://X1/X1/Xq2"), cli_env()),
            ("report", ("--store", in_url, "report", str(tmp_path / "r.html")), cli_env()),
            ("bad uid", ("--store", in_url, "launch", PROG, "uid://bad"), cli_env()),
            ("help", ("--help",), cli_env(DRWLAB_STORE=in_url)),
        ]:
            done = drwlab(*args, env=env)
            outputs[name] = done.stdout + done.stderr
        outputs["report file"] = (tmp_path / "r.html").read_text()
        down = with_password(f"http://127.0.0.1:{_closed_port()}")
        failed = drwlab("--store", down, "launch", PROG, "uid://X1/X1/Xq3", env=cli_env())
        outputs["server down"] = _output(failed)
    finally:
        xtss.send_signal(signal.SIGTERM)
        outputs["xtss process"] = xtss.communicate(timeout=20)[0]
    assert "launched uid://X1/X1/Xq1" in outputs["launch (env)"], outputs["launch (env)"]
    assert "launched uid://X1/X1/Xq2" in outputs["launch (url)"], outputs["launch (url)"]
    assert "error" in outputs["server down"].lower()
    assert "usage: drwlab" in outputs["help"], outputs["help"][-1000:]
    assert_all_hidden({f"the output of `drwlab {name}`": text for name, text in outputs.items()})


def _output(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


def _answers(client: XtssClient) -> bool:
    try:
        client.get_ouss_by_state_substate("Delivered")
    except DrwlabError:
        return False
    return True


def test_a_dashboard_never_shows_the_password(proxy: str) -> None:
    with open_store(with_password(proxy)) as store, Dashboard(store) as dashboard:
        for path in ("/", "/api/snapshot"):
            assert_hidden(f"the dashboard's {path}", http_get(dashboard.url, path))
        assert_hidden("the dashboard's events", first_event(dashboard.url))
        assert_hidden("the dashboard's repr", repr(dashboard))
