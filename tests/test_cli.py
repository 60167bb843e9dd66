"""The ``drwlab`` command as a person types it: usage errors, launch, reset, demo, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from drwlab.actors.xtss import Xtss, XtssClient
from drwlab.bus import MessageBus
from drwlab.cli import main
from drwlab.errors import RpcTimeout
from drwlab.store import Store, open_store, sqlite_url
from tests.bus.conftest import wait_until

REPO = Path(__file__).resolve().parent.parent
PROG = "2015.1.00657.S"
UID = "uid://X1/X1/Xb0"


def cli_env() -> dict[str, str]:
    """The environment of a ``drwlab`` subprocess: no store or fast-mode settings inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRWLAB_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def running_drwlab(*args: str) -> Iterator[subprocess.Popen[str]]:
    """``python -m drwlab ARGS`` in the background (output piped); killed at the end if it
    is still running (a test that failed before stopping it)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "drwlab", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=cli_env(),
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def drwlab(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drwlab", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=cli_env(),
        check=False,
    )


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    with open_store(sqlite_url(tmp_path / "drwlab.db")) as store:
        yield store


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["run"],
        ["frobnicate"],
        ["run", "pipeline-driver", "XX", "/tmp/cache"],
        ["run", "replicated-cache", "-e", "JAO"],
        ["run", "pipeline-driver", "EU", "/tmp/cache", "-mr", "two"],
        ["run", "--lease", "0", "xtss"],
        ["run", "--lease", "soon", "xtss"],
        ["run", "--max-attempts", "0", "xtss"],
        ["run", "--max-attempts", "two", "xtss"],
        ["launch", PROG],
        ["launch", PROG, UID, "PipelineCalibration", "MARS"],
    ],
)
def test_wrong_arguments_print_the_usage_and_exit_non_zero(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code != 0
    assert "usage: drwlab" in capsys.readouterr().err


def test_python_dash_m_drwlab_prints_help_and_the_commands() -> None:
    result = drwlab("--help")
    assert result.returncode == 0
    for command in ("run", "launch", "send", "call", "reset", "demo", "dashboard", "report",
                    "requeue", "classroom", "namespaces"):  # fmt: skip
        assert command in result.stdout
    assert drwlab("run", "--help").stdout.count("pipeline-driver") >= 1


def test_a_launch_refused_by_the_xtss_exits_non_zero_with_the_reason(tmp_path: Path) -> None:
    result = drwlab("--store", sqlite_url(tmp_path / "x.db"), "launch", PROG, "uid://bad")
    assert result.returncode == 1
    assert "not an ALMA uid" in result.stderr


def test_launch_then_reset_against_a_store(sqlite_store: Store, tmp_path: Path) -> None:
    url = sqlite_store.url
    cache = tmp_path / "cache"
    (cache / "weblogs" / "old").mkdir(parents=True)
    (cache / "leftover.zip").write_bytes(b"zip")
    with MessageBus(sqlite_store) as bus, Xtss(bus, sqlite_store):
        launched = drwlab("--store", url, "launch", PROG, UID, "PipelineCalibration", "EU")
        assert launched.returncode == 0, launched.stderr
        entity = sqlite_store.get("status-entities", "uid___X1_X1_Xb0")
        assert (entity["state"], entity["progID"]) == ("ReadyForProcessing", PROG)
        assert [m["body"]["ousUID"] for m in bus.unread("pipeline.process.EU")] == [UID]

        reset = drwlab("--store", url, "reset", "--caches", str(cache))
        assert reset.returncode == 0, reset.stderr
        assert sqlite_store.all_docs("status-entities") == []
        assert bus.unread() == []
        assert [p.name for p in cache.iterdir()] == ["weblogs"]
        assert not any((cache / "weblogs").iterdir())


def test_send_and_call_poke_a_running_system_from_a_terminal(sqlite_store: Store) -> None:
    url = sqlite_store.url
    with MessageBus(sqlite_store) as bus, Xtss(bus, sqlite_store):
        XtssClient(bus, sender="test").create(UID, PROG, "PipelineCalibration", "EU")
        request = f'{{"operation": "set-state", "ousUID": "{UID}", "value": "Processing"}}'
        called = drwlab("--store", url, "call", "xtss", request, "--timeout", "30")
        assert called.returncode == 0, called.stderr
        assert called.stdout.strip() == "201"  # the body, as the original's XTSS answered
        refused = drwlab("--store", url, "call", "xtss", request)
        assert refused.returncode == 1
        assert refused.stdout.startswith('"IllegalTransition: ')
        assert "illegal change Processing -> Processing" in refused.stderr
    sent = drwlab("--store", url, "send", "wire.poke", '{"hello": [1, 2]}')
    assert sent.returncode == 0, sent.stderr
    message = sqlite_store.get("msgq", sent.stdout.strip())
    assert (message["selector"], message["body"]) == ("wire.poke", {"hello": [1, 2]})
    unsent = drwlab("--store", url, "send", "wire.poke", "{hello}")
    assert unsent.returncode == 2 and "not JSON" in unsent.stderr
    timed_out = drwlab("--store", url, "call", "nobody.home", "{}", "--timeout", "0.5")
    assert timed_out.returncode == 1 and "no reply" in timed_out.stderr


def test_requeue_lists_dead_letters_and_puts_one_back_once_fixed(sqlite_store: Store) -> None:
    url = sqlite_store.url
    with MessageBus(sqlite_store, max_attempts=1) as bus:
        poison = bus.send("wire.poison", {"n": 1})
        listener = bus.listen("wire.poison", lambda body: 1 / 0)
        wait_until(lambda: bus.dead_letters(), timeout=15)
        listener.stop()
    listed = drwlab("--store", url, "requeue")
    assert listed.returncode == 0, listed.stderr
    assert poison in listed.stdout and "ZeroDivisionError" in listed.stdout
    requeued = drwlab("--store", url, "requeue", poison)
    assert requeued.returncode == 0 and f"re-queued {poison}" in requeued.stdout
    again = drwlab("--store", url, "requeue", poison, "no-such-message")
    assert again.returncode == 1  # it is pending now, and the other does not exist
    assert "not dead" in again.stderr.lower() or "dead letter" in again.stderr.lower()
    assert "no-such-message" in again.stderr
    handled: list[object] = []
    with MessageBus(sqlite_store) as bus:
        bus.listen("wire.poison", handled.append)
        wait_until(lambda: handled, timeout=15)
    assert handled == [{"n": 1}]


def test_demo_runs_two_ouss_to_delivered(tmp_path: Path) -> None:
    result = drwlab("demo", "-n", "2", "--time-scale", "0", "--workdir", str(tmp_path), timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2/2 delivered" in result.stdout
    table = result.stdout.split("OUS ", 1)[1]
    assert table.count("Delivered") == 2


def test_ctrl_c_stops_a_running_xtss_cleanly(sqlite_store: Store) -> None:
    with running_drwlab("--store", sqlite_store.url, "run", "xtss") as process:
        with MessageBus(sqlite_store) as bus:
            assert_serving(bus)
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
        assert process.returncode == 0, stderr
        assert time.monotonic() - started < 3
        assert "Traceback" not in stderr
        assert "xtss stopped" in stderr


def assert_serving(bus: MessageBus, timeout: float = 30) -> None:
    """The XTSS answers an RPC (a process may take a moment to start)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            XtssClient(bus, sender="test", timeout=2).get_ouss_by_state_substate("Delivered")
            return
        except RpcTimeout:
            if time.monotonic() > deadline:
                raise


def test_aqua_qa2_runs_its_terminal_ui_in_the_foreground(
    sqlite_store: Store, tmp_path: Path
) -> None:
    command = ["--store", sqlite_store.url, "run", "aqua-qa2", "-lc", str(tmp_path / "jao")]
    result = subprocess.run(
        [sys.executable, "-m", "drwlab", *command],
        input="\nq\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env=cli_env(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("No OUSs ready to be reviewed.") == 2  # listed, refreshed
    assert "Bye." in result.stdout


def test_the_dashboard_serves_the_store_until_sigterm(sqlite_store: Store) -> None:
    with running_drwlab("--store", sqlite_store.url, "dashboard", "-p", "0") as process:
        assert process.stdout is not None
        line = process.stdout.readline()  # "dashboard of ... at http://...; Ctrl-C to stop"
        url = line.split(" at ", 1)[1].split(";", 1)[0]
        assert requests.get(url, timeout=10).status_code == 200
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
        assert process.returncode == 0, stderr


EXAMPLE = "tests.actors.example_actors:ShortestQueue"


@pytest.mark.parametrize(
    ("argv", "status", "says"),
    [
        (["--actor", "tests.actors.no_such_module:Dra"], 1, "cannot import 'tests.actors.no_such"),
        (["--actor", "tests.actors.example_actors"], 1, "wants package.module:Class"),
        (["--actor", "tests.actors.example_actors:Nobody"], 1, "has no 'Nobody'"),
        (["--actor", "tests.actors.example_actors:fail_below"], 1, "not an Actor subclass"),
        (["--actor", EXAMPLE, "--arg", "executive=EU"], 1, "unexpected keyword argument"),
        (["--actor", EXAMPLE, "--arg", 'executives="EU"'], 1, "must be a list of executives"),
        (["--actor", EXAMPLE, "--arg", "executives"], 2, "--arg wants NAME=VALUE"),
        (["--actor", EXAMPLE, "xtss"], 2, "give one ACTOR, or --actor"),
        (["--arg", "strict=false", "xtss"], 2, "--arg is for --actor"),
    ],
)
def test_your_actor_refused_on_the_command_line_says_why(
    argv: list[str], status: int, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = ["--store", sqlite_url(tmp_path / "x.db"), "run", *argv]
    try:
        code = main(command)
    except SystemExit as stopped:
        code = stopped.code
    assert code == status
    assert says in capsys.readouterr().err


def wait_for_requests(
    bus: MessageBus, executive: str, count: int, timeout: float = 30
) -> list[str]:
    """The uids of the first ``count`` processing requests waiting for ``executive``'s driver."""
    store, selector = bus.store, f"pipeline.process.{executive}"
    deadline = time.monotonic() + timeout
    while True:
        seq = store.current_seq("msgq")
        uids = [message["body"]["ousUID"] for message in bus.unread(selector)]
        if len(uids) >= count:
            return uids
        assert time.monotonic() < deadline, f"requests on {selector}: {uids}"
        store.wait_for_change("msgq", seq, 1.0)


@pytest.mark.parametrize(("option", "deliveries"), [([], 3), (["--max-attempts", "2"], 2)])
def test_run_max_attempts_is_how_often_a_failing_message_is_tried_before_it_is_dead(
    sqlite_store: Store, tmp_path: Path, option: list[str], deliveries: int
) -> None:
    eu, jao = tmp_path / "eu", tmp_path / "jao"
    eu.mkdir()
    cache = ["replicated-cache", "-e", "JAO", "-lc", str(jao), "-euc", str(eu), "-p", "0"]
    command = ["--store", sqlite_store.url, "run", *option, *cache]
    with running_drwlab(*command) as process:
        with MessageBus(sqlite_store) as bus:  # a file the EU cache does not have: CacheError
            body = {"fileType": "productsdir", "cachedAt": "EU", "name": "missing"}
            msg_id = bus.send("cached.JAO", body, sender="test")
        wait_until(lambda: sqlite_store.get("msgq", msg_id)["state"] == "dead", timeout=30)
        dead = sqlite_store.get("msgq", msg_id)
        assert dead["attempts"] == deliveries
        assert len(dead["errorHistory"]) == deliveries
        assert dead["error"].startswith("CacheError: cannot replicate missing")
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
        assert process.returncode == 0


def test_your_actor_runs_as_its_own_process_until_ctrl_c(sqlite_store: Store) -> None:
    command = ["--store", sqlite_store.url, "run", "--actor", EXAMPLE]
    with running_drwlab(*command, "--arg", 'executives=["EU", "NA"]') as process:
        with MessageBus(sqlite_store) as bus, Xtss(bus, sqlite_store):
            for uid in ("uid://X1/X1/Xf1", "uid://X1/X1/Xf2"):  # handled in this order
                body = {"progID": PROG, "ousUID": uid, "recipe": "PipelineCalibration"}
                bus.send("dra.assign", body, sender="test")
            assert wait_for_requests(bus, "EU", 1) == ["uid://X1/X1/Xf1"]
            assert wait_for_requests(bus, "NA", 1) == ["uid://X1/X1/Xf2"]
            flags = sqlite_store.get("status-entities", "uid___X1_X1_Xf2")["flags"]
            assert flags["PL_PROCESSING_EXECUTIVE"] == "NA"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
        assert process.returncode == 0, stderr
        assert "shortest-queue running on" in stderr and "shortest-queue stopped" in stderr
        assert "Traceback" not in stderr
