"""The one form of a notebook's path that runs record: absolute and free of symlinks.

Every frontend names the notebook differently: JupyterLab sends ``<server root>/<path>``,
Notebook 7 (whose page has no server root) and its kernels' ``JPY_SESSION_NAME`` give the
path relative to the server root, ``jupyter mm run`` and the papermill engine give the
resolved file, the CLI's ``--notebook`` whatever the user typed. Runs are found as "this
notebook" by comparing paths, so all of them are turned into this canonical form where they
enter: the kernel when a run starts, the server when it filters, the CLI when it filters.
"""

from __future__ import annotations

import os

#: The kernel's working directory when jupyter-mm was first imported. jupyter_server starts
#: a notebook's kernel in the notebook's folder; a later ``%cd`` in the notebook must not
#: change which notebook a root-relative path names.
STARTUP_CWD = os.getcwd()


def canonical_notebook_path(path: str | None, cwd: str | None = None) -> str | None:
    """``path`` as runs record it (see the module docstring); None for no path.

    A relative path is taken relative to the server root when the kernel's start-up folder
    ends with the path's folder (``sub/nb.ipynb`` from a kernel started in ``/srv/sub``
    is ``/srv/sub/nb.ipynb``), else relative to ``cwd``.
    """
    if not path:
        return None
    if os.path.isabs(path):
        return os.path.realpath(path)
    base = os.path.normpath(cwd or STARTUP_CWD)
    folder, name = os.path.split(os.path.normpath(path))
    if not folder or folder == os.curdir:
        return os.path.realpath(os.path.join(base, name))
    wanted = folder.split(os.sep)
    have = base.split(os.sep)
    if os.pardir not in wanted and have[-len(wanted) :] == wanted:
        return os.path.realpath(os.path.join(base, name))
    return os.path.realpath(os.path.join(base, path))
