"""Records runs for the runs list tests, through the public Python API (``mm.start_run``)
into the store named by ``JUPYTER_MM_STORE`` — the store the test's Jupyter server reads.

One JSON request per line on stdin, one JSON answer per line on stdout:
``{"runs": [{"name", "notebook", "metrics": {name: value}, "fail": bool}, ...]}`` records
the runs in order (each starts after the previous one) and answers ``{"ids": [...]}``.
"""

from __future__ import annotations

import json
import sys

import jupyter_mm as mm


class _Failure(Exception):
    """Raised inside a run to make it a failed run, as an exception in a cell does."""


def record(spec: dict) -> str:
    try:
        with mm.start_run(spec.get("name"), notebook_path=spec["notebook"]) as run:
            run_id = run.id
            for name, value in (spec.get("metrics") or {}).items():
                mm.log_metric(name, value)
            if spec.get("fail"):
                raise _Failure("the cell raised")
    except _Failure:
        pass
    return run_id


def main() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        ids = [record(spec) for spec in request["runs"]]
        sys.stdout.write(json.dumps({"ids": ids}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
