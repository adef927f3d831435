"""CellOutputs with a real IPython shell: streams are merged and bounded, and everything it
wrapped is put back (display updates and clear_output are checked in a real kernel, whose
display publisher is the one that matters: tests/kernel/test_cell_outputs_kernel.py)."""

from __future__ import annotations

import sys

import pytest
from IPython.core.displaypub import CapturingDisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from IPython.testing.globalipapp import start_ipython

from jupyter_mm.capture.cell_outputs import MAX_STREAM_CHARS, CellOutputs


@pytest.fixture
def singleton_shell():
    """``display`` and ``clear_output`` talk to InteractiveShell.instance(): the suite's one
    global test shell (a plain InteractiveShell made here first would make every later
    ``start_ipython`` fail)."""
    start_ipython()  # returns None once started
    shell = InteractiveShell.instance()
    previous = shell.display_pub
    shell.display_pub = CapturingDisplayPublisher()  # as a kernel's: not printed to stdout
    yield shell
    shell.display_pub = previous


def test_streams_merge_and_are_cut_past_the_limit(singleton_shell):
    capture = CellOutputs(singleton_shell).start()
    print("a")
    print("b")
    sys.stderr.write("warning\n")
    sys.stdout.write("x" * (MAX_STREAM_CHARS + 10))
    outputs = capture.stop()
    assert [(o["name"], o["text"][:4]) for o in outputs] == [
        ("stdout", "a\nb\n"),
        ("stderr", "warn"),
        ("stdout", "xxxx"),
    ]
    assert "not kept beyond" in outputs[-1]["text"]


def test_everything_wrapped_is_restored(singleton_shell):
    publish = singleton_shell.display_pub.publish
    # the test shell (or pytest's capture) may already have put a write on the stream
    before = getattr(sys.stdout, "__dict__", {}).get("write")
    capture = CellOutputs(singleton_shell).start()
    assert "write" in vars(sys.stdout) or not hasattr(sys.stdout, "__dict__")
    capture.stop(error=ValueError("bad"))
    assert getattr(sys.stdout, "__dict__", {}).get("write") is before
    assert "publish" not in vars(singleton_shell.display_pub)
    assert singleton_shell.display_pub.publish == publish
