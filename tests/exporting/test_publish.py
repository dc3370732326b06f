"""nas-export publishes its folder whole: no stale model.onnx is quantized, a SIGKILL leaves the old or the new folder."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from nas.arch import ArchSpec
from nas.exporting.formats import export_arch
from nas.exporting.publish import PublishError
from tests.reliability.helpers import cli_env, run_cli, script

SMALL = "r16_n10,conv_k3_s2_c8_relu,ibn_k3_s1_e3_c8_relu,head_c32_relu"
OTHER = "r16_n10,conv_k3_s2_c16_relu,ibn_k5_s1_e6_c16_relu,head_c64_relu"
SUMMARY = ("export.json", "export.md")  # every export says what it holds (trained or not)


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_second_export_replaces_the_folder_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_arch(ArchSpec.from_string(SMALL), out, formats=["yaml", "onnx", "int8"])
    first_int8 = (out / "model.int8.onnx").read_bytes()
    export_arch(ArchSpec.from_string(OTHER), out, formats=["yaml", "int8"])  # int8 without onnx: must not reuse the old model.onnx
    assert ArchSpec.from_yaml((out / "arch.yaml").read_text()).to_string() == OTHER
    assert (out / "model.int8.onnx").read_bytes() != first_int8
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([*SUMMARY, "arch.yaml", "model.int8.onnx", "model.onnx"])  # the fresh onnx int8 came from
    export_arch(ArchSpec.from_string(SMALL), out, formats=["yaml"])
    assert sorted(p.name for p in out.iterdir()) == sorted([*SUMMARY, "arch.yaml"])  # nothing of the earlier export survives
    assert _hidden(tmp_path) == []


def test_a_folder_with_other_files_is_refused_untouched(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(PublishError, match=r"mine: holds files that are not an export \(notes\.txt\)"):
        export_arch(ArchSpec.from_string(SMALL), out, formats=["yaml"])
    assert [p.name for p in out.iterdir()] == ["notes.txt"] and _hidden(tmp_path) == []


def test_a_failed_export_leaves_the_old_folder_and_no_hidden_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    export_arch(ArchSpec.from_string(SMALL), out, formats=["yaml"])
    before = (out / "arch.yaml").read_bytes()

    def broken(*args: object, **kwargs: object) -> Path:
        raise RuntimeError("exporter crashed")

    monkeypatch.setitem(__import__("nas.exporting.formats", fromlist=["FORMATS"]).FORMATS, "onnx", broken)
    with pytest.raises(RuntimeError):
        export_arch(ArchSpec.from_string(OTHER), out, formats=["yaml", "onnx"])
    assert (out / "arch.yaml").read_bytes() == before and _hidden(tmp_path) == []


def test_progress_lines_on_stderr(tmp_path: Path) -> None:
    result = run_cli("nas-export", SMALL, "--out", tmp_path / "o", "--format", "yaml,onnx")
    assert result.returncode == 0, result.stderr
    assert "nas-export: " in result.stderr and "writing onnx" in result.stderr


@pytest.mark.slow
def test_sigkill_during_export_leaves_the_old_or_the_new_folder(tmp_path: Path) -> None:
    """Real SIGKILLs at spread-out moments of a real export; every time ``out`` is one whole export, and leftovers are swept."""
    out = tmp_path / "out"
    assert run_cli("nas-export", SMALL, "--out", out, "--format", "yaml,onnx").returncode == 0
    seen = set()
    for delay in (0.5, 1.5, 2.5, 3.5, 5.0):
        process = subprocess.Popen(
            [script("nas-export"), OTHER, "--out", str(out), "--format", "yaml,onnx,int8"],
            env=cli_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        names = tuple(sorted(p.name for p in out.iterdir()))
        arch = ArchSpec.from_dict(yaml.safe_load((out / "arch.yaml").read_text())).to_string()
        assert (arch, names) in {
            (SMALL, ("arch.yaml", *SUMMARY, "model.onnx")),
            (OTHER, ("arch.yaml", *SUMMARY, "model.int8.onnx", "model.onnx")),
        }, (
            arch,
            names,
        )
        seen.add(arch)
        assert len(_hidden(tmp_path)) <= 1  # at most the one a kill just left; the next export sweeps it
        if arch == OTHER:  # published: go back to the old one for the next round
            assert run_cli("nas-export", SMALL, "--out", out, "--format", "yaml,onnx").returncode == 0
    assert run_cli("nas-export", SMALL, "--out", out, "--format", "yaml,onnx").returncode == 0
    assert _hidden(tmp_path) == [] and SMALL in seen


def test_a_front_export_replaces_an_earlier_front_whole(tiny_table: Path, tmp_path: Path) -> None:
    """``--trial pareto`` publishes all its ``trial-N/`` folders at once: none of an earlier front stays beside them."""
    from nas.api import export, search

    result = search(
        space="nas_bench_macro", resolution=16, proxy="macs", device=str(tiny_table), trials=8, out=tmp_path / "run", progress=False
    )
    out = tmp_path / "front"
    export_arch(ArchSpec.from_string(SMALL), out / "trial-999", formats=["yaml"])  # an earlier front's trial
    written = export(storage=result.storage, trial="pareto", out=out, formats="yaml")
    assert all(path.is_file() and out in path.parents for path in written)
    if len(result.front) > 1:
        assert sorted(p.name for p in out.iterdir()) == sorted(f"trial-{row.number}" for row in result.front)
    else:
        assert sorted(p.name for p in out.iterdir()) == ["arch.yaml"]
    assert _hidden(tmp_path) == []
