"""What the JupyterLab extension sends on the ``jupyter_mm`` comm before a tracked cell
(``labextension/src/liveSnapshot.ts``), for benchmarks that drive a kernel without a browser:
the whole notebook on a new comm, then only the cells that changed since the last snapshot
(the others as their ids), and nothing when nothing changed; the tracked cell is compared
and sent as it starts running (no outputs, no execution count)."""

from __future__ import annotations

import json
from typing import Any


class LabFrontend:
    """The snapshots one comm carries."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.seq = 0
        self.sent: dict[str, str] | None = None
        self.top: str | None = None
        self.messages = 0

    def snapshot(self, notebook: dict[str, Any], cell_id: str) -> dict[str, Any] | None:
        """The message to send before running ``cell_id`` of ``notebook``, or None."""
        cells = [
            {**cell, "outputs": [], "execution_count": None}
            if cell["id"] == cell_id and cell["cell_type"] == "code"
            else cell
            for cell in notebook["cells"]
        ]
        texts = {cell["id"]: json.dumps(cell, sort_keys=True) for cell in cells}
        top = json.dumps({**notebook, "cells": []}, sort_keys=True)
        if (
            self.sent is not None
            and list(self.sent.items()) == list(texts.items())
            and top == self.top
        ):
            return None
        base = None if self.sent is None else self.seq
        sent = self.sent or {}
        self.seq += 1
        self.sent, self.top = texts, top
        self.messages += 1
        return {
            "type": "snapshot",
            "cell_id": cell_id,
            "path": self.path,
            "seq": self.seq,
            "base": base,
            "notebook": {
                **notebook,
                "cells": [
                    cell["id"]
                    if base is not None and sent.get(cell["id"]) == texts[cell["id"]]
                    else cell
                    for cell in cells
                ],
            },
        }
