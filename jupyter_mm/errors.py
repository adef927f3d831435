"""Exceptions shared by the kernel, the server and the CLI.

Every error a user can cause maps to one of these classes; the server maps them to HTTP
status codes in one place and the CLI prints ``str(exc)`` as a one-line message. Messages
must therefore be complete sentences without tracebacks or internal paths.
"""

from __future__ import annotations


class MMError(Exception):
    """Base class of all jupyter-mm errors."""

    http_status = 500


class InvalidInput(MMError):
    """The caller gave something malformed (bad id, bad filter, bad magic line)."""

    http_status = 400


class NotFound(MMError):
    """A run, blob, model or version does not exist."""

    http_status = 404


class AmbiguousReference(InvalidInput):
    """A run id prefix matches more than one run."""


class Conflict(MMError):
    """The request contradicts the current state (e.g. a refused transition)."""

    http_status = 409


class StoreError(MMError):
    """The store cannot be opened or written."""

    http_status = 503


class StoreVersionError(StoreError):
    """The store was written by a newer jupyter-mm; refuse to touch it."""


class IntegrityError(StoreError):
    """A blob does not match its digest, or a row names something missing."""
