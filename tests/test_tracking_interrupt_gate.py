"""The interrupt gate of ``%%track`` in-process, with real SIGINTs sent to this process (the
test runs in the main thread, where Python delivers them). The kernel-level behaviour,
``interrupt_kernel`` at every stage, is in ``tests/kernel/test_track_interrupts.py``."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from jupyter_mm.tracking.interrupts import TEST_PAUSE_VARIABLE

SEND_SIGINT_SOON = (
    "import os, signal, threading\n"
    "threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()\n"
)


@pytest.fixture
def shell(mm_shell):
    before = signal.getsignal(signal.SIGINT)
    yield mm_shell
    signal.signal(signal.SIGINT, before)


def last_run(ip):
    return ip.magics_manager.registry["TrackMagics"].last_run


def test_an_interrupt_in_the_body_fails_the_run_and_reaches_the_user(shell) -> None:
    body = SEND_SIGINT_SOON + "import time\nwhile True:\n    time.sleep(0.01)\n"
    with pytest.raises(KeyboardInterrupt):
        shell.run_cell_magic("track", "-q -n stopped", body)
    assert (last_run(shell).status, last_run(shell).run.error) == ("failed", "KeyboardInterrupt")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_interrupt_while_recording_is_ignored(shell, monkeypatch, capsys) -> None:
    monkeypatch.setenv(TEST_PAUSE_VARIABLE, "finish=1")
    result = shell.run_cell_magic("track", "-q -n kept", SEND_SIGINT_SOON + "done = 42\ndone")
    assert result == 42
    assert last_run(shell).status == "finished"
    assert "interrupt ignored: the cell had completed; run" in capsys.readouterr().err


def test_a_handler_installed_before_the_cell_gets_every_interrupt(shell) -> None:
    received: list[int] = []
    shell.user_ns["received"] = received
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    mine = signal.getsignal(signal.SIGINT)
    shell.run_cell_magic(
        "track",
        "-q -n own-handler",
        "import os, signal, time\n"
        "for _ in range(3):\n    os.kill(os.getpid(), signal.SIGINT)\n    time.sleep(0.05)\n",
    )
    assert received == [signal.SIGINT] * 3
    assert last_run(shell).status == "finished"
    assert signal.getsignal(signal.SIGINT) is mine  # given back as it was


def test_long_hashing_while_recording_stays_interruptible(shell, tmp_path, monkeypatch) -> None:
    import os

    import jupyter_mm.capture.data as data

    for name in ("a.csv", "b.csv", "c.csv"):
        (tmp_path / name).write_text(name)
    real = data.describe_path

    def slow_describe(path, *args, **kwargs):
        if not path.endswith("a.csv"):
            os.kill(os.getpid(), signal.SIGINT)  # the user gives up on a long hash
            import time

            time.sleep(0.5)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(data, "describe_path", slow_describe)
    shell.run_cell_magic("track", "-q -n hashing -d a.csv -d b.csv -d c.csv", "x = 1\n")
    run = last_run(shell)
    assert run.status == "finished"
    assert [Path(d.name).name for d in run.data.values()] == ["a.csv"]
    assert run.warnings == ["hashing interrupted; 2 data path(s) not recorded"]
