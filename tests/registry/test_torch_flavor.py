"""The PyTorch flavor: a module is stored as its state_dict and loaded with
``weights_only=True`` (no code runs on load), after the digest check.

Runs where torch is installed (``pip install torch``; CI does not install it: the CPU wheel
alone is several hundred MB). Skipped, visibly, elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import jupyter_mm as mm
from jupyter_mm.errors import IntegrityError

torch = pytest.importorskip("torch")


def test_a_torch_module_round_trips_as_a_state_dict(mm_store):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    example = torch.zeros((2, 3))
    with mm.start_run(name="torch") as run:
        mm.log_metric("loss", 0.25)
        mm.log_model(net, "net", input_example=example)
    version = mm.register_model(run.run.id, "net", "regressor")
    assert version.flavor == "torch-state-dict"
    assert version.signature["dtype"] == "float32"
    assert version.signature["shape"][1:] == [3]

    state = mm.load_model("regressor/1")  # no trusted=True needed: weights only
    fresh = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    fresh.load_state_dict(state)
    probe = torch.ones((1, 3))
    assert torch.equal(fresh(probe), net(probe))


def test_a_tampered_torch_artifact_is_refused_before_loading(mm_store):
    net = torch.nn.Linear(2, 1)
    with mm.start_run(name="torch") as run:
        mm.log_model(net, "net")
    version = mm.register_model(run.run.id, "net", "tiny")
    path = Path(mm_store.blobs.local_path(version.digest))
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        mm.load_model("tiny/1")
