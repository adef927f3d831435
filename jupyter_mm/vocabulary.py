"""The words of the data model: run statuses, checkpoint sources, data roles and kinds,
registry stages (re-exported by :mod:`jupyter_mm.entities`).

Plain constants in a module of their own, so that ``jupyter mm --help`` can offer them as
choices without building the entities' dataclasses.
"""

from __future__ import annotations

from typing import Literal

RunStatus = Literal["running", "finished", "failed", "crashed"]
RUN_STATUSES: tuple[str, ...] = ("running", "finished", "failed", "crashed")

#: Where a run's notebook checkpoint came from, best first.
#: live      — a frontend (JupyterLab, Notebook 7) sent the in-memory notebook
#: headless  — ``jupyter mm run`` / ``reproduce`` sent the notebook file as it executes it
#: papermill — the papermill engine (``papermill -E jupyter_mm``) sent the notebook it executes
#: file      — the .ipynb at the kernel's session path, as last saved
#: history   — reconstructed from the kernel session's execution history
#: none      — no notebook could be captured (plain Python, ``start_run`` outside a kernel)
CheckpointSource = Literal["live", "headless", "papermill", "file", "history", "none"]
#: the sources sent on the comm as a snapshot (``capture.notebook``)
SNAPSHOT_SOURCES: tuple[str, ...] = ("live", "headless", "papermill")

DataRole = Literal["input", "output"]
DataKind = Literal["file", "directory", "object"]

Stage = Literal["none", "staging", "production", "archived"]
STAGES: tuple[str, ...] = ("none", "staging", "production", "archived")

#: states of a request for a transition that needs approval (``c.Registry.require_approval``)
APPROVAL_STATUSES: tuple[str, ...] = ("pending", "approved", "rejected", "expired", "failed")

#: media types of the artifacts ``log_model`` writes beside a model: its input signature and
#: its reference profile. They describe a model and are never registered as one.
MEDIA_TYPE_SIGNATURE = "application/vnd.jupyter-mm.model-signature+json"
MEDIA_TYPE_PROFILE = "application/vnd.jupyter-mm.profile+json+zlib"
SIDECAR_MEDIA_TYPES: tuple[str, ...] = (MEDIA_TYPE_SIGNATURE, MEDIA_TYPE_PROFILE)
