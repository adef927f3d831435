"""The store opened off the main thread: an interrupt while it opens (SQLAlchemy's imports
take a second or more on a fresh process) ends the caller's wait and breaks nothing, and a
process forked while it opens does not wait forever for a thread it does not have.

Each case runs in a fresh interpreter, so that SQLAlchemy really is imported there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _python(script: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, JUPYTER_MM_STORE=f"sqlite:///{tmp_path / 'store' / 'mm.db'}")
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.pop("PYTHONPATH", "")]))
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=full_env,
        timeout=180,
    )


INTERRUPTED_OPEN = """
import os, signal, sys, threading, time
import jupyter_mm as mm
from jupyter_mm import tracking  # the package itself, so the interrupt lands in the opening
assert "sqlalchemy" not in sys.modules
threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
try:
    mm.start_run("interrupted")
except KeyboardInterrupt:
    print("interrupted")
with mm.start_run("after") as run:
    mm.log_metric("m", 1.0)
import sqlalchemy.sql
assert hasattr(sqlalchemy.sql, "base")  # no half-imported module left behind
detail = mm.get_run(run.id)
print(detail.run.name, detail.run.status, [m.value for m in detail.metrics])
"""


def test_an_interrupt_while_the_store_opens_breaks_nothing(tmp_path: Path) -> None:
    out = _python(INTERRUPTED_OPEN, tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "interrupted"
    assert lines[-1] == "after finished [1.0]"


FORK_DURING_WARM_UP = """
import os, sys
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
ip.run_line_magic("load_ext", "jupyter_mm")  # the warm-up pauses 3 s (test-only variable)
pid = os.fork()
if pid == 0:
    os.environ.pop("JUPYTER_MM_TEST_PAUSE")
    import jupyter_mm as mm
    from jupyter_mm.tracking import warmup
    assert warmup.wait()
    with mm.start_run("in-child") as run:
        pass
    os._exit(0 if run.status == "finished" else 3)
_, status = os.waitpid(pid, 0)
print("child", os.waitstatus_to_exitcode(status))
"""


def test_a_process_forked_during_the_warm_up_does_not_hang(tmp_path: Path) -> None:
    out = _python(FORK_DURING_WARM_UP, tmp_path, JUPYTER_MM_TEST_PAUSE="warmup=3")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "child 0"
