"""Hostile input (issue 27): code in data files, alias bombs, huge architectures, bad tables, bad images, bad names.

Every case goes through ``harness.check_clean_failure``: non-zero exit, one stderr line,
nothing on disk changed, no marker file of executed code. The fast run calls each
command's ``main(argv)`` in this process; the slow run repeats every case as a real
subprocess of the installed console script. The code-execution cases (malicious pickle,
``!!python`` tags) always run as real subprocesses.
"""

from __future__ import annotations

import os
import pickle
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.reliability.harness import Outcome, check_clean_failure, run_subprocess
from tests.study.tiny import RESOLUTION, SPACE


class _Evil:
    """Pickles as a call to ``os.system``: unpickling it with plain ``pickle.load`` runs the command."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _EvilExec:
    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):
        return (exec, (self.code,))


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height`` (a decompression bomb to a naive decoder)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0" * 8))
        + chunk(b"IEND", b"")
    )


def _cifar(folder: Path, test_batch: object, *, meta: object | None = None) -> None:
    folder.mkdir(parents=True)
    good = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1], b"batch_label": b"batch"}
    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(good, protocol=2))
    (folder / "test_batch").write_bytes(test_batch if isinstance(test_batch, bytes) else pickle.dumps(test_batch, protocol=2))
    if meta is not None:
        (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))


def _bomb(levels: int = 9) -> str:
    """A "billion laughs" YAML value: 10**levels leaves through nested aliases."""
    lines = ["lol0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"lol{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


ARCH = "name: {name}\nresolution: {res}\nnum_classes: 10\nstem: {{type: conv, out: 16, kernel: 3, stride: 2}}\nblocks:\n{blocks}head: {{out: 64}}\n"
IBN = "  - {type: ibn, out: 16, kernel: 3, expansion: 3}\n"
SPACE_YAML = (
    "name: {name}\nresolution: 32\nnum_classes: 10\nstem: {{type: conv, out: 16, kernel: 3, stride: 1}}\nhead: {{out: 64}}\n"
    "stages:\n  - {{out: 24, stride: 2, layers: {layers}, block: {{type: [ibn], kernel: [3, 5]}}}}\n"
)


@pytest.fixture(scope="module")
def hostile(tiny_table: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(working folder with every hostile file, marker folder outside it)."""
    base = tmp_path_factory.mktemp("hostile")
    w, markers = base / "w", base / "markers"
    w.mkdir()
    markers.mkdir()
    table = tiny_table.read_text()
    (w / "tiny.yaml").write_text(table)
    head, _, body = table.partition("\nentries:\n")
    first = body.splitlines()[0]
    key = first.strip().split(": [")[0]

    def entry(values: str) -> str:
        return table.replace(first, f"  {key}: [{values}]", 1)

    tables = {
        "t-nan.yaml": entry("nan, 0.1, 0.2, 50"),
        "t-negative.yaml": entry("-3.8, 0.1, 0.2, 50"),
        "t-inf.yaml": entry("inf, 0.1, 0.2, 50"),
        "t-runs.yaml": entry("0.1, 0.1, 0.2, -1"),
        "t-string.yaml": table.replace(first, f"  {key}: [fast, 0.1, 0.2, 50]", 1),
        "t-device-str.yaml": re.sub(r"device:\n(  .*\n)+", "device: cpu\n", table, count=1),
        "t-correction-list.yaml": head.replace("source:", "correction: [1, 2]\nsource:", 1) + "\nentries:\n" + body,
        "t-correction-nan.yaml": head.replace("source:", "correction: {scale: .nan}\nsource:", 1) + "\nentries:\n" + body,
        "t-type-scale.yaml": head.replace("source:", "correction: {type_scale: {ibn: -2}}\nsource:", 1) + "\nentries:\n" + body,
        "t-precision.yaml": head.replace("precision:", "precision: [fp32]\nold_precision:", 1) + "\nentries:\n" + body,
        "t-entry-count.yaml": table.replace("entry_count:", "entry_count: many\nold_count:", 1),
        "t-bomb.yaml": _bomb() + head + "\nentries:\n" + body,
        "t-tag.yaml": f"!!python/object/apply:os.system ['touch {markers}/table-tag']\n",
        "t-tag2.yaml": head + f"\nnotes: !!python/object/apply:os.system ['touch {markers}/table-tag2']\nentries:\n" + body,
    }
    for name, text in tables.items():
        (w / name).write_text(text)
    (w / "t-binary.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe" * 50)
    (w / "t-nul.yaml").write_text(table.replace("source:", "source\x00:", 1))

    many = "".join([IBN] * 10000)
    archs = {
        "a-blocks.yaml": ARCH.format(name="deep", res=32, blocks=many),
        "a-resolution.yaml": ARCH.format(name="big", res=100000, blocks=IBN),
        "a-channels.yaml": ARCH.format(name="wide", res=32, blocks="  - {type: ibn, out: 20000, kernel: 3, expansion: 3}\n"),
        "a-expansion.yaml": ARCH.format(name="fat", res=32, blocks="  - {type: ibn, out: 16, kernel: 3, expansion: 1.0e+308}\n"),
        "a-expansion-inf.yaml": ARCH.format(name="inf", res=32, blocks="  - {type: ibn, out: 16, kernel: 3, expansion: .inf}\n"),
        "a-expansion-nan.yaml": ARCH.format(name="nan", res=32, blocks="  - {type: ibn, out: 16, kernel: 3, expansion: .nan}\n"),
        "a-classes.yaml": ARCH.format(name="many", res=32, blocks=IBN).replace("num_classes: 10", "num_classes: 100000000"),
        "a-escape.yaml": ARCH.format(name='"evil\\e[2J\\e[31m"', res=32, blocks=IBN),
        "a-newline.yaml": ARCH.format(name='"two\\nlines"', res=32, blocks=IBN),
        "a-path.yaml": ARCH.format(name='"../../../x"', res=32, blocks=IBN),
        "a-bomb.yaml": _bomb() + ARCH.format(name="bomb", res=32, blocks=IBN),
        "a-bomb-value.yaml": _bomb() + ARCH.format(name="bomb", res=32, blocks=IBN).replace("name: bomb", "name: *a9"),
        "a-tag.yaml": f"!!python/object/apply:os.system ['touch {markers}/arch-tag']\n",
        "a-tag-name.yaml": ARCH.format(name=f"!!python/object/apply:os.system ['touch {markers}/arch-name-tag']", res=32, blocks=IBN),
        "a-tag-new.yaml": ARCH.format(name=f"!!python/object/new:os.system ['touch {markers}/arch-new-tag']", res=32, blocks=IBN),
    }
    for name, text in archs.items():
        (w / name).write_text(text)
    (w / "a-binary.yaml").write_bytes(bytes(range(256)) * 8)
    spaces = {
        "s-layers.yaml": SPACE_YAML.format(name="deep", layers=10000),
        "s-escape.yaml": SPACE_YAML.format(name='"x\\e]0;pwned\\a"', layers=1),
        "s-path.yaml": SPACE_YAML.format(name='"../../../x"', layers=1),
        "s-abs.yaml": SPACE_YAML.format(name='"/tmp/x"', layers=1),
        "s-bomb.yaml": _bomb() + SPACE_YAML.format(name="bomb", layers=1),
        "s-tag.yaml": SPACE_YAML.format(name=f"!!python/object/apply:os.system ['touch {markers}/space-tag']", layers=1),
        "s-resolution.yaml": SPACE_YAML.format(name="big", layers=1).replace("resolution: 32", "resolution: 100000"),
        "s-width.yaml": SPACE_YAML.format(name="wide", layers=1).replace("num_classes: 10", "num_classes: 10\nwidth: .inf"),
    }
    for name, text in spaces.items():
        (w / name).write_text(text)

    _cifar(w / "c-system", _Evil(f"touch {markers}/pickle-system"))
    _cifar(w / "c-exec", _EvilExec(f"open({str(markers / 'pickle-exec')!r}, 'w').close()"))
    _cifar(w / "c-nested", {b"data": [_Evil(f"touch {markers}/pickle-nested")], b"labels": [0]})
    _cifar(w / "c-meta", {b"data": np.zeros((1, 3072), np.uint8), b"labels": [0]}, meta=_Evil(f"touch {markers}/pickle-meta"))
    _cifar(w / "c-garbage", b"not a pickle at all")
    _cifar(w / "c-truncated", pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]})[:100])
    _cifar(w / "c-list", [1, 2, 3])
    _cifar(w / "c-shape", {b"data": np.zeros((2, 17), np.uint8), b"labels": [0, 1]})

    for name, data in {
        "i-bomb": _png_header(100000, 100000),
        "i-big": _png_header(9000, 9000),
        "i-garbage": b"\x89PNG\r\n\x1a\nbroken",
    }.items():
        for relative in ("a/x.png", "a/y.png", "b/x.png", "b/y.png"):
            path = w / name / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    csvs = {  # measurements that `nas-profile import` (bundle runner CSV) and `nas-profile fit` read
        "m-nan.csv": "key,median_ms,p10_ms,p90_ms,runs\nconv_k3,nan,0.1,0.2,50\n",
        "m-negative.csv": "key,median_ms,p10_ms,p90_ms,runs\nconv_k3,-1,0.1,0.2,50\n",
        "m-inf.csv": "key,median_ms,p10_ms,p90_ms,runs\nconv_k3,inf,0.1,0.2,50\n",
        "m-columns.csv": "foo,bar\n1,2\n",
        "m-words.csv": "key,median_ms,p10_ms,p90_ms,runs\nconv_k3,fast,0.1,0.2,50\n",
        "f-nan.csv": 'arch,latency_ms\n"r32_n10,conv_k3_s2_c16_relu,head_c64_relu",nan\n',
        "f-negative.csv": 'arch,latency_ms\n"r32_n10,conv_k3_s2_c16_relu,head_c64_relu",-2\n',
        "f-arch.csv": "arch,latency_ms\nnot-an-arch,1.0\n",
        "f-columns.csv": "network,ms\nx,1\n",
    }
    for name, text in csvs.items():
        (w / name).write_text(text)
    (w / "m-binary.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 20)
    (w / "notexport").mkdir()
    (w / "notexport" / "notes.txt").write_text("my notes, not an export\n")
    return w, markers


SEARCH = [
    "--space",
    SPACE,
    "--resolution",
    str(RESOLUTION),
    "--device",
    "{w}/tiny.yaml",
    "--proxy",
    "macs",
    "--trials",
    "2",
    "--out",
    "{w}/run",
    "--no-progress",
]
EXPORT = ["--out", "{w}/exported", "--format", "yaml"]
PROFILE = ["--device", "cpu", "--space", SPACE, "--resolution", str(RESOLUTION)]
SYN = ["mobilenet_v2", "--resolution", "32", "--proxy", "synflow", "--data"]
EXEC = True  # a code-execution attempt through each kind of file: always a real subprocess

# (id, command, arguments, expected message regex, always a real subprocess)
CASES: list[tuple[str, str, list[str], str, bool]] = [
    # code in data files
    (
        "pickle-os-system",
        "nas-inspect",
        [*SYN, "cifar10:{w}/c-system"],
        r"c-system/test_batch: not a CIFAR-10 pickle batch \(refused global posix\.system",
        EXEC,
    ),
    (
        "pickle-exec",
        "nas-inspect",
        [*SYN, "cifar10:{w}/c-exec"],
        r"c-exec/test_batch: .*refused global (__builtin__|builtins)\.exec",
        False,
    ),
    ("pickle-nested", "nas-inspect", [*SYN, "cifar10:{w}/c-nested"], r"refused global posix\.system", False),
    ("pickle-meta", "nas-inspect", [*SYN, "cifar10:{w}/c-meta"], r"c-meta/batches\.meta: .*refused global posix\.system", EXEC),
    (
        "pickle-search",
        "nas-search",
        [*SEARCH, "--proxy", "synflow", "--data", "cifar10:{w}/c-system"],
        r"refused global posix\.system",
        EXEC,
    ),
    ("pickle-garbage", "nas-inspect", [*SYN, "cifar10:{w}/c-garbage"], r"c-garbage/test_batch: not a CIFAR-10 pickle batch", False),
    ("pickle-truncated", "nas-inspect", [*SYN, "cifar10:{w}/c-truncated"], r"c-truncated/test_batch: not a CIFAR-10 pickle batch", False),
    ("pickle-not-dict", "nas-inspect", [*SYN, "cifar10:{w}/c-list"], r"expected a dict, got list", False),
    ("pickle-bad-shape", "nas-inspect", [*SYN, "cifar10:{w}/c-shape"], r"c-shape/test_batch: not a CIFAR-10 pickle batch", False),
    ("yaml-tag-arch-inspect", "nas-inspect", ["{w}/a-tag.yaml"], r"a-tag\.yaml: malformed YAML.*constructor", False),
    ("yaml-tag-arch-export", "nas-export", ["{w}/a-tag.yaml", *EXPORT], r"a-tag\.yaml: malformed YAML.*constructor", EXEC),
    ("yaml-tag-name", "nas-inspect", ["{w}/a-tag-name.yaml"], r"a-tag-name\.yaml: malformed YAML.*constructor", False),
    ("yaml-tag-new", "nas-export", ["{w}/a-tag-new.yaml", *EXPORT], r"a-tag-new\.yaml: malformed YAML.*constructor", False),
    ("yaml-tag-space", "nas-search", [*SEARCH, "--space", "{w}/s-tag.yaml"], r"s-tag\.yaml: malformed YAML.*constructor", EXEC),
    (
        "yaml-tag-space-profile",
        "nas-profile",
        ["--device", "cpu", "--space", "{w}/s-tag.yaml", "--table", "{w}/new.yaml"],
        r"s-tag\.yaml: malformed YAML",
        False,
    ),
    ("yaml-tag-table", "nas-search", [*SEARCH, "--device", "{w}/t-tag.yaml"], r"t-tag\.yaml: corrupted latency table", EXEC),
    ("yaml-tag-table-header", "nas-search", [*SEARCH, "--device", "{w}/t-tag2.yaml"], r"t-tag2\.yaml: corrupted latency table", False),
    ("yaml-tag-table-profile", "nas-profile", [*PROFILE, "--table", "{w}/t-tag2.yaml"], r"t-tag2\.yaml: corrupted latency table", False),
    # tables
    (
        "table-nan",
        "nas-search",
        [*SEARCH, "--device", "{w}/t-nan.yaml"],
        r"t-nan\.yaml: entries\.\S+: latencies must be finite numbers >= 0",
        False,
    ),
    (
        "table-negative",
        "nas-search",
        [*SEARCH, "--device", "{w}/t-negative.yaml"],
        r"t-negative\.yaml: entries\.\S+: latencies must be finite",
        False,
    ),
    ("table-inf", "nas-search", [*SEARCH, "--device", "{w}/t-inf.yaml"], r"t-inf\.yaml: entries\.\S+: latencies must be finite", False),
    (
        "table-runs",
        "nas-search",
        [*SEARCH, "--device", "{w}/t-runs.yaml"],
        r"t-runs\.yaml: entries\.\S+: runs must be an integer >= 0",
        False,
    ),
    (
        "table-string-entry",
        "nas-search",
        [*SEARCH, "--device", "{w}/t-string.yaml"],
        r"t-string\.yaml: entries\.\S+: latencies must be finite",
        False,
    ),
    (
        "table-device-string",
        "nas-search",
        [*SEARCH, "--device", "{w}/t-device-str.yaml"],
        r"t-device-str\.yaml: device: expected a mapping",
        False,
    ),
    ("table-correction-list", "nas-search", [*SEARCH, "--device", "{w}/t-correction-list.yaml"], r"correction: expected a mapping", False),
    (
        "table-correction-nan",
        "nas-search",
        [*SEARCH, "--device", "{w}/t-correction-nan.yaml"],
        r"correction\.scale: expected a finite number",
        False,
    ),
    (
        "table-type-scale",
        "nas-search",
        [*SEARCH, "--device", "{w}/t-type-scale.yaml"],
        r"correction\.type_scale\.'ibn': expected a finite factor >= 0",
        False,
    ),
    ("table-precision", "nas-search", [*SEARCH, "--device", "{w}/t-precision.yaml"], r"precision: expected text", False),
    ("table-entry-count", "nas-search", [*SEARCH, "--device", "{w}/t-entry-count.yaml"], r"entry_count: expected an integer", False),
    ("table-binary", "nas-search", [*SEARCH, "--device", "{w}/t-binary.yaml"], r"t-binary\.yaml: not a latency table \(binary", False),
    ("table-nul", "nas-search", [*SEARCH, "--device", "{w}/t-nul.yaml"], r"t-nul\.yaml: corrupted latency table", False),
    (
        "table-bomb",
        "nas-search",
        [*SEARCH, "--device", "{w}/t-bomb.yaml"],
        r"t-bomb\.yaml: refused latency table: aliases expand to more than",
        False,
    ),
    (
        "table-nan-profile",
        "nas-profile",
        [*PROFILE, "--table", "{w}/t-nan.yaml"],
        r"t-nan\.yaml: entries\.\S+: latencies must be finite",
        False,
    ),
    ("table-device-profile", "nas-profile", [*PROFILE, "--table", "{w}/t-device-str.yaml"], r"device: expected a mapping", False),
    ("table-binary-profile", "nas-profile", [*PROFILE, "--table", "{w}/t-binary.yaml"], r"not a latency table \(binary", False),
    ("table-bomb-profile", "nas-profile", [*PROFILE, "--table", "{w}/t-bomb.yaml"], r"aliases expand to more than", False),
    (
        "table-nan-validate",
        "nas-profile",
        ["validate", "--device", "cpu", "--space", SPACE, "--table", "{w}/t-nan.yaml"],
        r"t-nan\.yaml: entries\.",
        False,
    ),
    (
        "table-binary-validate",
        "nas-profile",
        ["validate", "--device", "cpu", "--space", SPACE, "--table", "{w}/t-binary.yaml"],
        r"not a latency table",
        False,
    ),
    # architectures: limits, bombs, names
    ("arch-10000-blocks", "nas-export", ["{w}/a-blocks.yaml", *EXPORT], r"a-blocks\.yaml: blocks: at most 512 blocks, got 10000", False),
    ("arch-10000-blocks-inspect", "nas-inspect", ["{w}/a-blocks.yaml"], r"at most 512 blocks", False),
    (
        "arch-resolution",
        "nas-export",
        ["{w}/a-resolution.yaml", *EXPORT],
        r"a-resolution\.yaml: resolution: must be at most 4096, got 100000",
        False,
    ),
    ("arch-channels", "nas-inspect", ["{w}/a-channels.yaml"], r"blocks\[0\]\.out: must be at most 16384, got 20000", False),
    ("arch-expansion-huge", "nas-inspect", ["{w}/a-expansion.yaml"], r"blocks\[0\]\.expansion: must be a finite number at most 64", False),
    ("arch-expansion-inf", "nas-inspect", ["{w}/a-expansion-inf.yaml"], r"expansion: must be a finite number", False),
    ("arch-expansion-nan", "nas-export", ["{w}/a-expansion-nan.yaml", *EXPORT], r"expansion: must be a finite number", False),
    ("arch-classes", "nas-inspect", ["{w}/a-classes.yaml"], r"num_classes: must be at most 100000", False),
    ("arch-escape-name", "nas-inspect", ["{w}/a-escape.yaml"], r"a-escape\.yaml: name: 'evil\\x1b\[2J.* is not allowed", False),
    ("arch-newline-name", "nas-export", ["{w}/a-newline.yaml", *EXPORT], r"name: 'two\\nlines' is not allowed", False),
    ("arch-path-name", "nas-export", ["{w}/a-path.yaml", *EXPORT], r"name: '\.\./\.\./\.\./x' is not allowed", False),
    ("arch-bomb", "nas-inspect", ["{w}/a-bomb.yaml"], r"a-bomb\.yaml: refused YAML: aliases expand to more than", False),
    ("arch-bomb-export", "nas-export", ["{w}/a-bomb.yaml", *EXPORT], r"refused YAML: aliases expand", False),
    ("arch-bomb-value", "nas-inspect", ["{w}/a-bomb-value.yaml"], r"refused YAML: aliases expand", False),
    ("arch-binary", "nas-inspect", ["{w}/a-binary.yaml"], r"a-binary\.yaml: not a YAML text file", False),
    (
        "arch-string-e1e308",
        "nas-inspect",
        ["r32_n10,conv_k3_s2_c16_relu,ibn_k3_s1_e1e308_c16_relu,head_c64_relu"],
        r"expansion: must be a finite number at most 64",
        False,
    ),
    (
        "arch-string-inf",
        "nas-export",
        ["r32_n10,conv_k3_s2_c16_relu,ibn_k3_s1_e1e999_c16_relu,head_c64_relu", *EXPORT],
        r"expansion: must be a finite",
        False,
    ),
    (
        "arch-string-resolution",
        "nas-export",
        ["r100000_n10,conv_k3_s2_c16_relu,head_c64_relu", *EXPORT],
        r"resolution: must be at most 4096",
        False,
    ),
    (
        "arch-string-channels",
        "nas-inspect",
        ["r32_n10,conv_k3_s2_c99999999_relu,head_c64_relu"],
        r"stem\.out: must be at most 16384",
        False,
    ),
    ("arch-string-head", "nas-inspect", ["r32_n10,conv_k3_s2_c16_relu,head_c99999999_relu"], r"head\.out: must be at most 16384", False),
    (
        "arch-string-classes",
        "nas-inspect",
        ["r32_n100000000,conv_k3_s2_c16_relu,head_c64_relu"],
        r"num_classes: must be at most 100000",
        False,
    ),
    (
        "arch-string-hidden",
        "nas-inspect",
        ["r32_n10,conv_k3_s2_c16_relu,fused_ibn_k3_s1_h99999999_c16_relu,head_c64_relu"],
        r"must be at most 16384|unknown",
        False,
    ),
    # spaces
    (
        "space-10000-layers",
        "nas-search",
        [*SEARCH, "--space", "{w}/s-layers.yaml"],
        r"s-layers\.yaml: stages: the deepest choice has 10000 layers; at most 512",
        False,
    ),
    (
        "space-escape-name",
        "nas-search",
        [*SEARCH, "--space", "{w}/s-escape.yaml"],
        r"s-escape\.yaml: name: 'x\\x1b\]0;pwned\\x07' is not allowed",
        False,
    ),
    ("space-path-name", "nas-search", [*SEARCH, "--space", "{w}/s-path.yaml"], r"name: '\.\./\.\./\.\./x' is not allowed", False),
    ("space-absolute-name", "nas-search", [*SEARCH, "--space", "{w}/s-abs.yaml"], r"name: '/tmp/x' is not allowed", False),
    ("space-bomb", "nas-search", [*SEARCH, "--space", "{w}/s-bomb.yaml"], r"s-bomb\.yaml: refused YAML: aliases expand", False),
    (
        "space-bomb-profile",
        "nas-profile",
        ["--device", "cpu", "--space", "{w}/s-bomb.yaml", "--table", "{w}/new.yaml"],
        r"refused YAML",
        False,
    ),
    ("space-bomb-inspect", "nas-inspect", ["{w}/s-bomb.yaml"], r"refused YAML", False),
    ("space-resolution", "nas-search", [*SEARCH, "--space", "{w}/s-resolution.yaml"], r"resolution: must be at most 4096", False),
    ("space-width", "nas-search", [*SEARCH, "--space", "{w}/s-width.yaml"], r"width: must be a positive number", False),
    ("space-escape-export", "nas-export", ["{w}/s-escape.yaml", "--sample", "0", *EXPORT], r"is not allowed", False),
    # data specs and images
    (
        "synthetic-negative",
        "nas-search",
        [*SEARCH, "--proxy", "synflow", "--data", "synthetic:-5"],
        r"--data synthetic:-5: expected .* in 1\.\.100000",
        False,
    ),
    (
        "synthetic-huge",
        "nas-search",
        [*SEARCH, "--proxy", "synflow", "--data", "synthetic:100000000"],
        r"synthetic:100000000: expected .* in 1\.\.100000",
        False,
    ),
    ("synthetic-zero", "nas-inspect", [*SYN, "synthetic:0"], r"in 1\.\.100000", False),
    ("synthetic-float", "nas-inspect", [*SYN, "synthetic:1e3"], r"synthetic:1e3: expected", False),
    ("synthetic-escape", "nas-inspect", [*SYN, "synthetic:\x1b[2J"], r"synthetic:\\x1b\[2J: expected", False),
    (
        "imagefolder-bomb",
        "nas-inspect",
        [*SYN, "imagefolder:{w}/i-bomb"],
        r"i-bomb/\w/\w\.png: image larger than \d+ pixels \(a decompression bomb\?\)",
        False,
    ),
    (
        "imagefolder-bomb-search",
        "nas-search",
        [*SEARCH, "--proxy", "synflow", "--data", "imagefolder:{w}/i-bomb"],
        r"decompression bomb",
        False,
    ),
    (
        "imagefolder-large",
        "nas-inspect",
        [*SYN, "imagefolder:{w}/i-big"],
        r"i-big/\w/\w\.png: image side 9000 px is larger than 1024",
        False,
    ),
    ("imagefolder-garbage", "nas-inspect", [*SYN, "imagefolder:{w}/i-garbage"], r"i-garbage/\w/\w\.png: cannot decode image", False),
    # measurement CSVs (nas-profile import / fit): a bad row never reaches a table file
    (
        "import-nan",
        "nas-profile",
        ["import", "--device", "cpu", "{w}/m-nan.csv", "--table", "{w}/imported.yaml"],
        r"m-nan\.csv: line 2: .*must be finite",
        False,
    ),
    (
        "import-negative",
        "nas-profile",
        ["import", "--device", "cpu", "{w}/m-negative.csv", "--table", "{w}/imported.yaml"],
        r"line 2: .*>= 0 ms",
        False,
    ),
    (
        "import-inf",
        "nas-profile",
        ["import", "--device", "cpu", "{w}/m-inf.csv", "--table", "{w}/imported.yaml"],
        r"m-inf\.csv: line 2",
        False,
    ),
    (
        "import-columns",
        "nas-profile",
        ["import", "--device", "cpu", "{w}/m-columns.csv", "--table", "{w}/imported.yaml"],
        r"missing column",
        False,
    ),
    (
        "import-words",
        "nas-profile",
        ["import", "--device", "cpu", "{w}/m-words.csv", "--table", "{w}/imported.yaml"],
        r"line 2: bad numbers",
        False,
    ),
    (
        "import-binary",
        "nas-profile",
        ["import", "--device", "cpu", "{w}/m-binary.csv", "--table", "{w}/imported.yaml"],
        r"not UTF-8 text",
        False,
    ),
    (
        "import-into-bad-table",
        "nas-profile",
        ["import", "--device", "cpu", "{w}/m-nan.csv", "--table", "{w}/t-nan.yaml"],
        r"t-nan\.yaml|m-nan\.csv",
        False,
    ),
    (
        "fit-nan",
        "nas-profile",
        ["fit", "--device", "cpu", "{w}/f-nan.csv", "--table", "{w}/fitted.yaml"],
        r"f-nan\.csv: line 2: latency_ms must be a finite number > 0",
        False,
    ),
    (
        "fit-negative",
        "nas-profile",
        ["fit", "--device", "cpu", "{w}/f-negative.csv", "--table", "{w}/fitted.yaml"],
        r"f-negative\.csv: line 2",
        False,
    ),
    (
        "fit-arch",
        "nas-profile",
        ["fit", "--device", "cpu", "{w}/f-arch.csv", "--table", "{w}/fitted.yaml"],
        r"f-arch\.csv: line 2: arch string",
        False,
    ),
    (
        "fit-columns",
        "nas-profile",
        ["fit", "--device", "cpu", "{w}/f-columns.csv", "--table", "{w}/fitted.yaml"],
        r"expected columns 'arch'",
        False,
    ),
    ("fit-binary", "nas-profile", ["fit", "--device", "cpu", "{w}/m-binary.csv", "--table", "{w}/fitted.yaml"], r"not UTF-8 text", False),
    # export folder
    (
        "export-into-foreign-folder",
        "nas-export",
        ["mobilenet_v2", "--out", "{w}/notexport", "--format", "yaml"],
        r"notexport: holds files that are not an export \(notes\.txt\)",
        True,
    ),
    (
        "export-into-a-file",
        "nas-export",
        ["mobilenet_v2", "--out", "{w}/tiny.yaml", "--format", "yaml"],
        r"tiny\.yaml: cannot create the output folder: it is a file",
        False,
    ),
]


def _main(command: str) -> Callable[[list[str]], int]:
    from nas.cli import export, inspect, profile
    from nas.cli import search as search_cli

    return {"nas-search": search_cli.main, "nas-export": export.main, "nas-profile": profile.main, "nas-inspect": inspect.main}[command]


MODES = ["in-process", pytest.param("subprocess", marks=pytest.mark.slow)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("command", "arguments", "message", "always_subprocess"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_input_fails_cleanly(
    hostile: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    command: str,
    arguments: list[str],
    message: str,
    always_subprocess: bool,
) -> None:
    world, markers = hostile
    argv = [argument.replace("{w}", str(world)) for argument in arguments]

    def in_subprocess(c: str, a: list[str]) -> Outcome:
        return run_subprocess(c, a, cwd=world)

    def in_process(c: str, a: list[str]) -> Outcome:
        capsys.readouterr()
        try:
            code = _main(c)(a)
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        return Outcome(code, capsys.readouterr().err)

    runner: Callable[[str, list[str]], Outcome] = in_subprocess
    if mode == "in-process" and not always_subprocess:
        monkeypatch.chdir(world)
        runner = in_process
    elif mode != "in-process" and always_subprocess:
        pytest.skip("already run as a subprocess in the fast pass")
    check_clean_failure(command, argv, message, root=world, markers=markers, runner=runner)


def test_cases_cover_every_command_and_the_goal_is_met() -> None:
    from tests.reliability.test_bad_inputs import CASES as EARLIER

    assert {c[1] for c in CASES} == {"nas-search", "nas-export", "nas-profile", "nas-inspect"}
    assert len({c[0] for c in CASES}) == len(CASES)
    assert len(CASES) + len(EARLIER) >= 100
