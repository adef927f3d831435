"""Child process of the crash-safety test: records runs the way a tracked cell does (params
and metrics while running, an artifact blob, then one finishing transaction) until it is
killed. ``argv``: store URL, artifact root, seed, and after how many runs to arm the
``blob-before-rename`` failpoint (-1: never; the parent SIGKILLs it instead)."""

from __future__ import annotations

import os
import random
import socket
import sys
import tempfile
import time

from jupyter_mm import ids
from jupyter_mm.config import StoreLocation
from jupyter_mm.entities import Artifact, Metric, Param, Run
from jupyter_mm.store import blobs, open_store


def main() -> None:
    url, artifact_root, seed, arm_after = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:5])
    rng = random.Random(seed)
    host = socket.gethostname()
    with open_store(StoreLocation(url=url, artifact_root=artifact_root)) as store:
        print("ready", flush=True)
        for index in range(10_000):
            if index == arm_after:
                blobs.FAILPOINT = "blob-before-rename"
            run = store.create_run(
                Run(id=ids.new_id(), start_time=time.time(), host=host, pid=os.getpid())
            )
            store.log_batch(
                run.id,
                params=[Param("seed", str(seed)), Param("i", str(index))],
                metrics=[Metric("loss", rng.random(), step, time.time()) for step in range(20)],
            )
            # a file big enough that a kill often lands inside its copy into the store
            size = rng.randrange(1, 3 << 20)
            with tempfile.NamedTemporaryFile() as model:
                model.write(rng.randbytes(size))
                model.flush()
                digest, size = store.blobs.put_file(model.name)
            run.status, run.end_time = "finished", time.time()
            store.finish_run(
                run,
                metrics=[Metric("acc", rng.random(), 0, time.time())],
                artifacts=[Artifact("model.bin", digest, size)],
            )


if __name__ == "__main__":
    main()
