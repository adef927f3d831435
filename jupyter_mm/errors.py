"""Exceptions shared by the kernel, the server and the CLI.

Every error a user can cause maps to one of these classes; the server maps them to HTTP
status codes in one place and the CLI prints ``str(exc)`` as a one-line message. Messages
must therefore be complete sentences without tracebacks; a filesystem path in one is named
in ``server_paths``, so that the server's answers leave it out.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

#: what stands in an HTTP answer for a filesystem path of the machine running the server
SERVER_PATH = "‹path on the server›"
# An absolute POSIX path that starts a word (not the path part of a URL such as
# postgresql://host/db or s3://bucket/key, nor a relative name like plots/a.png).
_ABSOLUTE_PATH = re.compile(r"(?<![\w/:.~-])/[^\s'\"]*")


class MMError(Exception):
    """Base class of all jupyter-mm errors.

    ``server_paths`` names the filesystem paths the message contains: a user at the
    terminal or in the kernel reads them in ``str(exc)``, a client of the server gets
    :meth:`client_message`, where each is replaced by :data:`SERVER_PATH`.
    """

    http_status = 500

    def __init__(self, *args: object, server_paths: Iterable[str | os.PathLike[str]] = ()):
        super().__init__(*args)
        self.server_paths = tuple(str(p) for p in server_paths if p)

    def client_message(self) -> str:
        """The message without the machine's filesystem paths, for HTTP answers."""
        text = str(self)
        for path in sorted(self.server_paths, key=len, reverse=True):
            text = text.replace(path, SERVER_PATH)
        return text


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


class Forbidden(MMError):
    """The acting user has no role allowing this registry action (team mode)."""

    http_status = 403


class StoreError(MMError):
    """The store cannot be opened or written."""

    http_status = 503

    def client_message(self) -> str:
        # The store's problems are the server's: whatever path a lower layer put into the
        # message (an OS or driver error text), a client learns none.
        return _ABSOLUTE_PATH.sub(SERVER_PATH, super().client_message())


class StoreVersionError(StoreError):
    """The store was written by a newer jupyter-mm; refuse to touch it."""


class IntegrityError(StoreError):
    """A blob does not match its digest, or a row names something missing."""
