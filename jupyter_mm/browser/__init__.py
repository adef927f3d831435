"""``mm.browse()`` / ``%mm browse``: the essentials of the sidebar inside the notebook.

For frontends without the JupyterLab extension (VS Code, Colab, Notebook 7 without it): runs
of this notebook or all notebooks (search, status, order by a metric, metric columns), a
run's detail, the comparison of two runs (tables and nbdime's rendering of the notebook
diff), restoring a checkpoint as a new notebook, and the model registry. Built from
ipywidgets' standard widgets only, with no frontend code of its own, so it renders wherever
ipywidgets does. Stored text is escaped (a shared store is data, never markup).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput

if TYPE_CHECKING:
    from ..store.abstract import AbstractStore


class Browser:
    """The widget tree (``.widget``) and its two panels (``.runs``, ``.models``)."""

    def __init__(self, store: AbstractStore, notebook: str | None) -> None:
        import ipywidgets as w

        from .models import ModelsPanel
        from .runs import RunsPanel

        self.store = store
        self.runs = RunsPanel(store, notebook)
        self.models = ModelsPanel(store)
        self.widget = w.Tab(children=[self.runs.widget, self.models.widget])
        self.widget.titles = ("Runs", "Models")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def browse(notebook: str | None = None, *, store: AbstractStore | None = None) -> Browser:
    """Show the in-notebook browser. ``notebook`` defaults to the notebook this kernel runs
    (when the frontend said which); ``store`` to the project's store."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        raise InvalidInput(
            "mm.browse() needs ipywidgets: pip install ipywidgets (then reload the page)."
        ) from None
    from ..notebook_paths import canonical_notebook_path

    if notebook is None:
        notebook = _kernel_notebook()
    from ..tracking import default_store

    return Browser(store or default_store(), canonical_notebook_path(notebook))


def _kernel_notebook() -> str | None:
    from IPython import get_ipython

    from ..capture.notebook import session_path

    shell: Any = get_ipython()
    return session_path(shell) if shell is not None else None


__all__ = ["Browser", "browse"]
