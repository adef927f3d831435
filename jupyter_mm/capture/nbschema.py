"""nbformat 4 notebooks in the kernel without importing nbformat.

``import nbformat`` imports jsonschema, which imports every optional format checker it finds
installed; one of them (rfc3987-syntax) compiles its grammars at import and costs seconds.
A tracked cell needs none of that: it validates against the very schema files nbformat
ships (found on disk, nbformat itself is not imported), compiled with fastjsonschema (a
dependency of nbformat, the validator nbformat itself prefers), and builds the few cells it
creates as plain dictionaries with attribute access, like nbformat's ``NotebookNode``.

What nbformat does beyond the schema when it reads a v4 file — rejoining multi-line strings,
dropping transient fields, repairing duplicate cell ids — is done here the same way. Files
of older major versions still go through nbformat (its converters), imported then.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import threading
import uuid
from typing import Any

#: the newest minor version of nbformat 4 with a schema file of its own
CURRENT_MINOR = 5

_COMPILED: dict[tuple[str | None, int], Any] = {}
_LOCK = threading.Lock()


class NotebookInvalid(ValueError):
    """The notebook (or cell) does not match the nbformat 4 schema; ``message`` says where."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotebookNode(dict):
    """A dict with attribute access (``nb.cells``, ``cell.source``), as nbformat's own."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None


def from_dict(value: Any) -> Any:
    """``value`` with every nested dict turned into a :class:`NotebookNode`."""
    if isinstance(value, dict):
        return NotebookNode({key: from_dict(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return [from_dict(item) for item in value]
    return value


def new_code_cell(source: str = "", execution_count: int | None = None) -> NotebookNode:
    """A code cell as ``nbformat.v4.new_code_cell`` makes it (with a fresh id)."""
    return NotebookNode(
        id=uuid.uuid4().hex[:8],
        cell_type="code",
        metadata=NotebookNode(),
        execution_count=execution_count,
        source=source,
        outputs=[],
    )


def new_notebook(cells: list[Any] | None = None) -> NotebookNode:
    """An empty nbformat 4.5 notebook, as ``nbformat.v4.new_notebook`` makes it."""
    return NotebookNode(
        nbformat=4, nbformat_minor=CURRENT_MINOR, metadata=NotebookNode(), cells=cells or []
    )


# -- schema validation --------------------------------------------------------------------


def _schema_dir() -> str:
    spec = importlib.util.find_spec("nbformat")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise NotebookInvalid("nbformat is not installed, so notebooks cannot be validated")
    return os.path.join(next(iter(spec.submodule_search_locations)), "v4")


def _relaxed(schema: Any) -> Any:
    """A notebook from a newer minor version: unknown properties, cells and outputs pass
    (what nbformat does for a minor version it does not know)."""
    if isinstance(schema, dict):
        relaxed = {k: _relaxed(v) for k, v in schema.items() if k != "additionalProperties"}
        if schema.get("additionalProperties") is not False and "additionalProperties" in schema:
            relaxed["additionalProperties"] = _relaxed(schema["additionalProperties"])
        return relaxed
    if isinstance(schema, list):
        return [_relaxed(item) for item in schema]
    return schema


def _load_schema(minor: int) -> dict[str, Any]:
    name = f"nbformat.v4.{min(minor, CURRENT_MINOR)}.schema.json"
    with open(os.path.join(_schema_dir(), name), encoding="utf-8") as handle:
        schema = json.load(handle)
    if minor > CURRENT_MINOR:
        schema = _relaxed(schema)
        definitions = schema["definitions"]
        definitions["cell"]["oneOf"].append({"$ref": "#/definitions/unrecognized_cell"})
        definitions["output"]["oneOf"].append({"$ref": "#/definitions/unrecognized_output"})
    return schema


def _validator(ref: str | None, minor: int) -> Any:
    """The compiled validator for a whole notebook (``ref`` None) or one definition."""
    key = (ref, minor)
    compiled = _COMPILED.get(key)
    if compiled is not None:
        return compiled
    with _LOCK:
        compiled = _COMPILED.get(key)
        if compiled is None:
            import fastjsonschema

            schema = _load_schema(minor)
            if ref is not None:
                schema = {"definitions": schema["definitions"], "$ref": f"#/definitions/{ref}"}
            compiled = fastjsonschema.compile(schema)
            _COMPILED[key] = compiled
    return compiled


def validate(value: Any, ref: str | None = None, minor: int = CURRENT_MINOR) -> None:
    """Raise :class:`NotebookInvalid` unless ``value`` matches the nbformat 4.``minor``
    schema (the whole notebook, or the definition ``ref``: ``code_cell``, …)."""
    from fastjsonschema import JsonSchemaException

    try:
        _validator(ref, minor)(value)
    except JsonSchemaException as exc:
        raise NotebookInvalid(
            str(getattr(exc, "message", exc)).replace("data", ref or "notebook", 1)
        ) from None


def prepare(minors: tuple[int, ...] = (CURRENT_MINOR,)) -> None:
    """Compile the validators a tracked cell uses (done ahead, off the cell's path)."""
    for minor in minors:
        for ref in (None, "code_cell", "markdown_cell", "raw_cell"):
            _validator(ref, minor)


# -- reading a v4 file ----------------------------------------------------------------------


def _is_json_mime(mime: str) -> bool:
    return mime == "application/json" or (
        mime.startswith("application/") and mime.endswith("+json")
    )


def _rejoin_bundle(data: Any) -> None:
    if not isinstance(data, dict):
        return
    for key, value in list(data.items()):
        if (
            not _is_json_mime(key)
            and isinstance(value, list)
            and all(isinstance(line, str) for line in value)
        ):
            data[key] = "".join(value)


def _rejoin_lines(notebook: NotebookNode) -> None:
    """Multi-line strings stored as lists of lines become strings (as nbformat reads)."""
    for cell in notebook["cells"]:
        if not isinstance(cell, dict):
            continue
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(str(line) for line in cell["source"])
        attachments = cell.get("attachments")
        if isinstance(attachments, dict):
            for attachment in attachments.values():
                _rejoin_bundle(attachment)
        if cell.get("cell_type") != "code" or not isinstance(cell.get("outputs"), list):
            continue
        for output in cell["outputs"]:
            if not isinstance(output, dict):
                continue
            kind = output.get("output_type", "")
            if kind in ("execute_result", "display_data"):
                _rejoin_bundle(output.get("data"))
            elif kind and isinstance(output.get("text"), list):
                output["text"] = "".join(str(line) for line in output["text"])


def _strip_transient(notebook: NotebookNode) -> None:
    metadata = notebook.get("metadata")
    if isinstance(metadata, dict):
        for key in ("orig_nbformat", "orig_nbformat_minor", "signature"):
            metadata.pop(key, None)
    for cell in notebook["cells"]:
        if isinstance(cell, dict) and isinstance(cell.get("metadata"), dict):
            cell["metadata"].pop("trusted", None)


def _repair_ids(notebook: NotebookNode) -> None:
    """A cell without an id, or repeating an earlier cell's id, gets a new one (nbformat
    does the same, with a warning; files written by older tools and copied cells in
    hand-edited files are the usual causes)."""
    seen: set[Any] = set()
    for cell in notebook["cells"]:
        if not isinstance(cell, dict):
            continue
        if "id" not in cell or cell["id"] in seen:
            cell["id"] = uuid.uuid4().hex[:8]
        seen.add(cell["id"])


def reads(text: str) -> NotebookNode:
    """Parse and validate an .ipynb's text as nbformat 4 (older formats are converted by
    nbformat). Raises :class:`NotebookInvalid` or ValueError for malformed JSON."""
    data = json.loads(text)
    if not isinstance(data, dict) or "nbformat" not in data:
        raise NotebookInvalid('it has no "nbformat" key')
    if data.get("nbformat") != 4:
        return _converted(text)
    notebook = from_dict(data)
    if not isinstance(notebook.get("cells"), list):
        raise NotebookInvalid("notebook.cells must be array")
    minor = notebook.get("nbformat_minor")
    if not isinstance(minor, int) or isinstance(minor, bool) or minor < 0:
        raise NotebookInvalid(f"nbformat_minor {minor!r} is not a version number")
    _rejoin_lines(notebook)
    _strip_transient(notebook)
    if minor >= 5:
        _repair_ids(notebook)
    validate(notebook, minor=minor)
    return notebook


def _converted(text: str) -> NotebookNode:
    """An nbformat 3 (or older) file converted to v4 by nbformat itself."""
    import nbformat

    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except nbformat.ValidationError as exc:
        raise NotebookInvalid(str(exc.message).splitlines()[0]) from None
    return from_dict(copy.deepcopy(dict(notebook)))
