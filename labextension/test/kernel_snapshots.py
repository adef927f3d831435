"""The kernel's side of the live-snapshot protocol, for the lab extension's unit tests.

Reads one JSON request per line on stdin and applies it the way the kernel's comm handler
does (``jupyter_mm.comm`` → ``LiveSnapshots``), then answers one JSON line on stdout:

- ``{"message": {...} | null, "cell_id": "..."}``: handle the snapshot message (null: the
  frontend sent nothing) and take what the tracked cell would checkpoint:
  ``{"notebook": {...} | null}``, or ``{"reply": {"type": "resync" | "error", ...}}`` when
  the kernel refuses the message;
- ``{"restart": true}``: forget every base, as a kernel that lost its state would.
"""

from __future__ import annotations

import json
import sys

from jupyter_mm.capture.notebook import LiveSnapshots, StaleBase
from jupyter_mm.errors import InvalidInput

COMM = "comm-1"
SESSION = "session-1"


def main() -> None:
    live = LiveSnapshots()
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("restart"):
            live = LiveSnapshots()
            answer: dict = {"restarted": True}
        else:
            try:
                if request["message"] is not None:
                    live.handle_message(request["message"], COMM, SESSION)
                snapshot = live.take(request["cell_id"], SESSION)
                answer = {"notebook": None if snapshot is None else snapshot.notebook}
            except StaleBase as exc:
                answer = {"reply": {"type": "resync", "message": str(exc)}}
            except InvalidInput as exc:
                answer = {"reply": {"type": "error", "message": str(exc)}}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
