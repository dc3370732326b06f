"""Weights files: round trip, and the one-line refusals (missing, truncated, another network, code in the pickle)."""

from __future__ import annotations

import pickle
from dataclasses import replace

import pytest
import torch

from nas import build_model
from nas.arch import ArchSpec
from nas.weights import WeightsError, load_weights, save_weights

ARCH = ArchSpec.from_string("r16_n10,conv_k3_s1_c8_relu,ibn_k3_s2_e2_c16_relu,ibn_k5_s1_e3_c16_relu,head_none", name="tiny")


def test_round_trip(tmp_path):
    model = build_model(ARCH)
    path = save_weights(tmp_path / "w.pt", arch=ARCH, state_dict=model.state_dict(), meta={"epochs": 3})
    arch, state, meta = load_weights(path, arch=ARCH.with_name("other-name"))
    assert arch == ARCH and meta == {"epochs": 3}
    fresh = build_model(arch)
    fresh.load_state_dict(state)
    x = torch.randn(2, 3, ARCH.resolution, ARCH.resolution)
    model.eval(), fresh.eval()
    assert torch.equal(model(x), fresh(x))


def test_another_architecture_is_refused(tmp_path):
    path = save_weights(tmp_path / "w.pt", arch=ARCH, state_dict=build_model(ARCH).state_dict())
    other = replace(ARCH, blocks=ARCH.blocks[:-1])
    with pytest.raises(WeightsError, match="another architecture"):
        load_weights(path, arch=other)


def test_missing_and_truncated(tmp_path):
    with pytest.raises(WeightsError, match="no such file"):
        load_weights(tmp_path / "absent.pt")
    path = save_weights(tmp_path / "w.pt", arch=ARCH, state_dict=build_model(ARCH).state_dict())
    cut = tmp_path / "cut.pt"
    cut.write_bytes(path.read_bytes()[:200])
    with pytest.raises(WeightsError, match="not a readable nas-weights file"):
        load_weights(cut)


class _Evil:
    def __reduce__(self):
        return (exec, ("open('MARKER', 'w').write('x')",))


def test_a_pickle_that_runs_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    torch.save({"format": "nas-weights", "version": 1, "evil": _Evil()}, path, pickle_module=pickle)
    with pytest.raises(WeightsError, match="not a readable"):
        load_weights(path)
    assert not (tmp_path / "MARKER").exists()


def test_not_a_weights_file(tmp_path):
    path = tmp_path / "plain.pt"
    torch.save({"a": torch.zeros(1)}, path)
    with pytest.raises(WeightsError, match="not a nas-weights file"):
        load_weights(path)
