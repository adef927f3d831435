"""Delta live snapshots (issue #5): after a full snapshot on a comm, the frontend sends the
unchanged cells as their ids; the kernel rebuilds the notebook from the base it holds for
that comm. A delta must give exactly the notebook a full snapshot gives, and anything the
kernel cannot rebuild must fall back (with one warning), never raise into the kernel."""

from __future__ import annotations

import copy
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from jupyter_mm.capture.checkpoint import store_checkpoint
from jupyter_mm.capture.notebook import MAX_SEQ, LiveSnapshots, StaleBase, capture_notebook
from jupyter_mm.errors import InvalidInput
from jupyter_mm.store.local_blobs import LocalBlobStore

pytestmark = pytest.mark.usefixtures("no_session")


def notebook(cells: int = 20) -> dict:
    nb = new_notebook(cells=[new_markdown_cell("# Title")])
    nb.cells[0]["id"] = "title"
    for i in range(cells - 1):
        cell = new_code_cell(f"v{i} = {i}", execution_count=i + 1)
        cell["id"] = f"c{i}"
        cell.outputs = [new_output("stream", name="stdout", text=f"{i}\n")]
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return json.loads(json.dumps(nb))  # plain JSON, as it arrives on the comm


def full(nb: dict, seq: int | None = 1, cell_id: str = "c3") -> dict:
    return {"type": "snapshot", "cell_id": cell_id, "path": "/n.ipynb", "seq": seq, "notebook": nb}


def delta(nb: dict, changed: set[str], seq: int, base: int, cell_id: str = "c3") -> dict:
    """What the frontend sends: ``nb`` with every cell not in ``changed`` as its id."""
    cells = [cell if cell["id"] in changed else cell["id"] for cell in nb["cells"]]
    message = full(nb, seq, cell_id)
    message["base"] = base
    message["notebook"] = {**nb, "cells": cells}
    return message


def checkpoint_of(tmp_path, snap) -> str:
    blobs = LocalBlobStore(tmp_path / "objects")
    return store_checkpoint(blobs, snap.notebook, fingerprints=snap.fingerprints)[0]


def test_a_delta_gives_exactly_the_notebook_a_full_snapshot_gives(tmp_path, shell):
    live = LiveSnapshots()
    first = notebook()
    live.handle_message(full(first), "comm-1")
    taken = capture_notebook(shell, cell_id="c3", raw_cell="", live=live)
    assert taken.source == "live" and live.base_seq("comm-1") == 1

    edited = copy.deepcopy(first)
    edited["cells"][4]["source"] = "v3 = 'edited'"  # the tracked cell, re-run
    edited["cells"][4]["execution_count"] = 99
    edited["cells"].insert(2, {**edited["cells"][1], "id": "new-cell", "source": "new = 1"})
    del edited["cells"][7]
    edited["metadata"]["title"] = "changed metadata travels in every message"
    live.handle_message(delta(edited, {"c3", "new-cell"}, seq=2, base=1), "comm-1")
    from_delta = capture_notebook(shell, cell_id="c3", raw_cell="", live=live)

    reference = LiveSnapshots()
    reference.handle_message(full(edited), "comm-2")
    from_full = capture_notebook(shell, cell_id="c3", raw_cell="", live=reference)

    assert from_delta.source == from_full.source == "live"
    assert from_delta.cell_id == "c3"
    assert json.dumps(from_delta.notebook, sort_keys=True) == json.dumps(edited, sort_keys=True)
    assert from_delta.fingerprints == from_full.fingerprints
    assert checkpoint_of(tmp_path, from_delta) == checkpoint_of(tmp_path, from_full)
    nbformat.validate(nbformat.from_dict(json.loads(json.dumps(from_delta.notebook))))
    assert live.base_seq("comm-1") == 2
    assert (live.deltas_applied, reference.deltas_applied) == (1, 0)


def test_unchanged_cells_keep_their_fingerprints_across_deltas(shell):
    live = LiveSnapshots()
    nb = notebook()
    live.handle_message(full(nb), "comm")
    first = capture_notebook(shell, cell_id="c3", raw_cell="", live=live)
    live.handle_message(delta(nb, {"c3"}, seq=2, base=1), "comm")
    second = live.take("c3")
    reused = [i for i, cell in enumerate(second.live_cells) if cell.fingerprint is not None]
    assert reused == [i for i in range(len(nb["cells"])) if nb["cells"][i]["id"] != "c3"]
    assert [second.live_cells[i].fingerprint for i in reused] == [
        first.fingerprints[i] for i in reused
    ]


def test_a_base_mismatch_asks_for_a_resync_and_the_cell_falls_back_to_the_file(
    tmp_path, shell, monkeypatch
):
    path = tmp_path / "saved.ipynb"
    saved = notebook()
    nbformat.write(nbformat.from_dict(saved), path)
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    live = LiveSnapshots()
    live.handle_message(full(saved, seq=5), "comm")
    capture_notebook(shell, cell_id="c3", raw_cell="", live=live)
    with pytest.raises(StaleBase, match="holds 5"):
        live.handle_message(delta(saved, {"c3"}, seq=7, base=6), "comm")
    assert live.base_seq("comm") is None, "a failed delta leaves no base behind"
    snap = capture_notebook(shell, cell_id="c3", raw_cell="v2 = 2", live=live)
    assert snap.source == "file"
    assert len(snap.warnings) == 1
    assert snap.warnings[0].startswith("The notebook sent by the frontend was unusable: ")
    # the next delta cannot be rebuilt either (no base); a full snapshot starts over
    with pytest.raises(StaleBase, match="holds none"):
        live.handle_message(delta(saved, {"c3"}, seq=8, base=7), "comm")
    live.handle_message(full(saved, seq=9), "comm")
    assert live.base_seq("comm") == 9


def test_a_snapshot_never_taken_still_advances_the_base(shell):
    """The cell it was sent for was interrupted before the magic ran."""
    live = LiveSnapshots()
    nb = notebook()
    live.handle_message(full(nb, seq=1, cell_id="c1"), "comm")
    live.handle_message(delta(nb, {"c1"}, seq=2, base=1, cell_id="c1"), "comm")
    live.handle_message(delta(nb, {"c3"}, seq=3, base=2), "comm")
    snap = capture_notebook(shell, cell_id="c3", raw_cell="", live=live)
    assert snap.source == "live" and snap.warnings == []
    assert len(snap.notebook.cells) == len(nb["cells"])


def test_bases_are_per_comm_dropped_on_forget_and_bounded():
    live = LiveSnapshots(max_bases=2)
    nb = notebook(3)
    live.handle_message(full(nb, seq=1), "a")
    live.handle_message(full(nb, seq=10), "b")
    assert (live.base_seq("a"), live.base_seq("b")) == (1, 10)
    with pytest.raises(StaleBase):
        live.handle_message(delta(nb, set(), seq=2, base=10), "a")  # b's seq is not a's
    live.handle_message(full(nb, seq=3), "a")
    live.forget("a")
    assert live.base_seq("a") is None and live.base_seq("b") == 10
    for channel in ("c", "d"):
        live.handle_message(full(nb, seq=1), channel)
    assert live.base_seq("b") is None, "the least recently used base goes first"
    assert live.base_seq("d") == 1


def test_full_snapshots_without_seq_or_unique_ids_keep_no_base():
    live = LiveSnapshots()
    nb = notebook(3)
    live.handle_message(full(nb, seq=None), "comm")  # today's message, older frontends
    assert live.base_seq("comm") is None and len(live) == 1
    twice = copy.deepcopy(nb)
    twice["cells"][2]["id"] = twice["cells"][1]["id"]
    live.handle_message(full(twice, seq=4), "comm")
    # the newer snapshot from the same comm supersedes the one still waiting
    assert live.base_seq("comm") is None and len(live) == 1


def hostile_deltas() -> list[tuple[str, dict, type]]:
    nb = notebook(4)
    ids = [cell["id"] for cell in nb["cells"]]
    cases = [
        ("unknown id", {"cells": [*ids[:3], "nobody-" + "x" * 500]}, StaleBase),
        ("number entry", {"cells": [*ids[:3], 7]}, InvalidInput),
        ("list entry", {"cells": [*ids[:3], ["c0"]]}, InvalidInput),
        ("duplicate ids", {"cells": [*ids, ids[1]]}, InvalidInput),
        ("new cell with the id of a kept one", {"cells": [*ids, nb["cells"][1]]}, InvalidInput),
        (
            "cell without id",
            {"cells": [{k: v for k, v in nb["cells"][1].items() if k != "id"}]},
            InvalidInput,
        ),
        ("huge seq", {"seq": 2**64}, InvalidInput),
        ("negative seq", {"seq": -1}, InvalidInput),
        ("boolean seq", {"seq": True}, InvalidInput),
        ("string base", {"base": "1"}, InvalidInput),
        ("huge base", {"base": MAX_SEQ + 1}, InvalidInput),
        ("base without seq", {"seq": None}, InvalidInput),
        ("base ahead", {"base": 2}, StaleBase),
    ]
    out = []
    for name, change, error in cases:
        message = delta(nb, set(), seq=2, base=1)
        if "cells" in change:
            message["notebook"] = {**message["notebook"], "cells": change.pop("cells")}
        message.update(change)
        out.append(pytest.param(nb, message, error, id=name))
    return out


@pytest.mark.parametrize(("nb", "message", "error"), hostile_deltas())
def test_hostile_deltas_are_refused_with_a_sentence(shell, nb, message, error):
    live = LiveSnapshots()
    live.handle_message(full(nb, seq=1), "comm")
    live.take("c3")
    with pytest.raises(InvalidInput) as info:
        live.handle_message(message, "comm")
    assert type(info.value) is error
    assert str(info.value).endswith(".") and len(str(info.value)) < 300
    assert live.base_seq("comm") is None
    # the tracked cell learns why, once, and still gets a checkpoint (history here)
    snap = capture_notebook(shell, cell_id="c3", raw_cell="x = 1", live=live)
    assert snap.source == "history" and len(snap.warnings) == 1
    assert "unusable" in snap.warnings[0]
    # and a full snapshot starts over
    live.handle_message(full(nb, seq=3), "comm")
    assert capture_notebook(shell, cell_id="c3", raw_cell="", live=live).source == "live"


def test_an_unchanged_notebook_is_taken_from_the_base_of_the_requesting_session():
    """A frontend with nothing new sends nothing: the tracked cell's request (same client
    session as the comm's messages) is served by that comm's base, nobody else's."""
    live = LiveSnapshots()
    nb = notebook(5)
    live.handle_message(full(nb, seq=1), "comm-a", "session-a")
    first = live.take("c3", "session-a")
    assert first is not None and live.bases_reused == 0
    again = live.take("c3", "session-a")  # nothing was sent for this run
    assert again is not None and again.source == "live" and live.bases_reused == 1
    assert (again.path, again.cell_id) == ("/n.ipynb", "c3")
    assert json.loads(json.dumps(again.notebook)) == json.loads(json.dumps(first.notebook))
    assert live.take("c3", "session-b") is None, "another client's request"
    assert live.take("c3", None) is None, "no session known"
    assert live.take("no-such-cell", "session-a") is None
    live.forget("comm-a")
    assert live.take("c3", "session-a") is None, "the comm closed"


def test_a_later_snapshot_on_a_comm_supersedes_one_left_by_an_interrupted_cell():
    """c3's snapshot was never taken (its request was aborted); after c5's snapshot on the
    same comm, a run of c3 with nothing sent must see the newer notebook, not the old one."""
    live = LiveSnapshots()
    nb = notebook(8)
    live.handle_message(full(nb, seq=1, cell_id="c3"), "comm", "s")
    edited = copy.deepcopy(nb)
    edited["cells"][2]["source"] = "v1 = 'edited'"
    live.handle_message(delta(edited, {"c1"}, seq=2, base=1, cell_id="c5"), "comm", "s")
    assert len(live) == 1
    assert live.take("c5", "s") is not None
    taken = live.take("c3", "s")
    assert taken is not None and taken.notebook["cells"][2]["source"] == "v1 = 'edited'"


def test_live_snapshots_are_keyed_by_their_content(shell):
    """The key that lets a re-run skip the per-cell walk: equal for the same content sent
    twice, different when a cell or the metadata differs."""
    live = LiveSnapshots()
    nb = notebook(6)

    def key_of(message: dict, channel: str) -> tuple:
        live.handle_message(message, channel, "s")
        snap = capture_notebook(shell, cell_id="c3", raw_cell="x", live=live, copy=False)
        assert snap.source == "live"
        return snap.source_key

    first = key_of(full(nb, seq=1), "a")
    assert key_of(full(copy.deepcopy(nb), seq=1), "b") == first, "same content, other comm"
    edited = copy.deepcopy(nb)
    edited["cells"][2]["source"] = "v1 = 'edited'"
    assert key_of(full(edited, seq=2), "a") != first
    retitled = copy.deepcopy(nb)
    retitled["metadata"]["title"] = "another"
    assert key_of(full(retitled, seq=3), "a") not in (first, None)
