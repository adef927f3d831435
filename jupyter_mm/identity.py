"""Who is acting, when the caller has no authenticated identity to pass.

The registry records an ``actor`` with every change. The server passes the request's
authenticated Jupyter user; the kernel and the CLI act as the user of their process, which
is what :func:`process_user` names. Team mode relies on nothing else guessing a user.
"""

from __future__ import annotations

import getpass
import os


def process_user() -> str | None:
    """The JupyterHub user this process runs for (``$JUPYTERHUB_USER``, set in a hub's
    servers and kernels), else the OS user, else None (no passwd entry in some containers)."""
    user = os.environ.get("JUPYTERHUB_USER")
    if user:
        return user
    try:
        return getpass.getuser()
    except Exception:
        return None
