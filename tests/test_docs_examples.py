"""Every code example in README.md and docs/ runs as written, so the documentation cannot rot.

Conventions for the markdown (a reader never sees them; they are HTML comments):

- A fenced ```` ```python ```` or ```` ```bash ```` block runs: the blocks of one page run in page order
  in one fresh temporary folder (a later block may use what an earlier one wrote), with this checkout
  on ``PYTHONPATH``. Bash blocks run with ``bash -e -o pipefail``; a block fails the test when any
  command in it fails.
- ``<!-- no-run: why -->`` on the line before a block: it does not run (it needs a phone, a database,
  an install, or minutes). Every ``nas-*`` command line in it is still parsed by that command's real
  argparse parser (``parse_args``, nothing runs), so a renamed or removed option fails here.
- ``<!-- exit: N -->`` before a bash block: it runs without ``-e`` and must end with exit status N,
  having printed exactly one line on stderr (the bad-input contract).
- A ``yaml`` block is an architecture or a space: it must load with ``nas.load_target``.
- Other languages (``text``, ``toml``) are illustrations and are not run.

Running the pages takes about a minute (searches of 12–30 trials), so those tests are ``slow``; the
parser checks of every command line, and the CLI reference hook, are fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import nas

REPO = Path(__file__).resolve().parents[1]
PAGES = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md")])
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w-]*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*(?P<kind>no-run|exit)\s*:\s*(?P<value>.*?)\s*-->\s*$")
REDIRECT = re.compile(r"\s\d?(>>|>|<)&?\s*[^\s;&|]+")  # "2> err.txt", "> out", "2>&1": not arguments
RUN_TIMEOUT_S = 600


def _load_hook():
    """docs/hooks/cli_reference.py: the one list of commands and their parser factories."""
    spec = importlib.util.spec_from_file_location("cli_reference", REPO / "docs" / "hooks" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HOOK = _load_hook()


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    code: str
    no_run: str | None = None
    exit_status: int | None = None

    def where(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a page, with the marker comment (if any) on the line before each."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening or not opening["lang"]:
            index += 1
            continue
        indent, start = opening["indent"], index
        body: list[str] = []
        index += 1
        while index < len(lines) and lines[index].strip() != "```":
            body.append(lines[index].removeprefix(indent))
            index += 1
        marker = MARKER.match(lines[start - 1]) if start > 0 else None
        no_run = marker["value"] if marker and marker["kind"] == "no-run" else None
        exit_status = int(marker["value"]) if marker and marker["kind"] == "exit" else None
        found.append(Block(page, start + 1, opening["lang"], "\n".join(body) + "\n", no_run, exit_status))
        index += 1
    return found


def command_lines(code: str) -> list[list[str]]:
    """The ``nas-*`` invocations of a bash block, as argument lists (comments, &&, ||, ;, | split off)."""
    commands: list[list[str]] = []
    for line in code.splitlines():
        line = REDIRECT.sub(" ", line)
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        current: list[str] = []
        for token in [*lexer, ";"]:
            if token in {"&&", "||", ";", "|", "&"}:
                if current and current[0].startswith("nas-"):
                    commands.append(current)
                current = []
            else:
                current.append(token)
    return commands


def parse_with_real_parser(argv: list[str]) -> None:
    """parse_args with the command's own parser; fail with the parser's message if it rejects the line."""
    if len(argv) > 1 and f"{argv[0]} {argv[1]}" in HOOK.PARSERS:  # a subcommand: nas-profile validate, nas-supernet train
        command, args = f"{argv[0]} {argv[1]}", argv[2:]
    else:
        command, args = argv[0], argv[1:]
    if command not in HOOK.PARSERS:
        pytest.fail(f"unknown command {command!r} in a docs example (known: {', '.join(HOOK.PARSERS)})")
    parser: argparse.ArgumentParser = HOOK.build_parser(command)
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            parser.parse_args(args)
    except SystemExit as error:
        if error.code:
            pytest.fail(f"{shlex.join(argv)!r} does not parse: {stderr.getvalue().strip()}")


ALL_BLOCKS = [block for page in PAGES for block in blocks(page)]
BASH_BLOCKS = [block for block in ALL_BLOCKS if block.lang == "bash"]
RUN_PAGES = [page for page in PAGES if any(b.lang in {"bash", "python"} and b.no_run is None for b in blocks(page))]


def test_the_pages_have_examples_and_markers_are_understood() -> None:
    assert len(PAGES) >= 15, PAGES
    assert len(ALL_BLOCKS) >= 30
    assert all(block.lang in {"bash", "python", "yaml", "text", "toml"} for block in ALL_BLOCKS), {b.lang for b in ALL_BLOCKS}
    for page in PAGES:  # a marker that is not right before a fence would silently do nothing
        lines = page.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if MARKER.match(line):
                assert number + 1 < len(lines) and FENCE.match(lines[number + 1]), (
                    f"{page.name}:{number + 1}: marker not before a code block"
                )


def test_readme_starts_with_the_two_commands() -> None:
    first = next(block for block in blocks(REPO / "README.md") if block.lang == "bash")
    assert first.code.splitlines() == [
        'pip install torch==2.13.0 && pip install ".[test,postgres]" && nas-search --device dsp   # the main job, on the shipped defaults',
        "python3 -m pytest                                                                        # the tests (what .ci/run runs)",
    ]
    assert len((REPO / "README.md").read_bytes()) <= 12 * 1024


def test_readme_links_point_at_files() -> None:
    """The README is read on the forge, outside mkdocs' link check: its relative links must exist."""
    targets = re.findall(r"\]\(([^)#\s]+)[^)]*\)", (REPO / "README.md").read_text(encoding="utf-8"))
    relative = [target for target in targets if "://" not in target]
    assert len(relative) >= 15
    assert [target for target in relative if not (REPO / target).exists()] == []


def test_command_line_splitting() -> None:
    code = 'nas-search --device dsp --trials 3 && nas-export x --out "a b"  # note\npython x.py | nas-inspect --list 2> err.txt\n'
    assert command_lines(code) == [
        ["nas-search", "--device", "dsp", "--trials", "3"],
        ["nas-export", "x", "--out", "a b"],
        ["nas-inspect", "--list"],
    ]


@pytest.mark.parametrize("block", BASH_BLOCKS, ids=[block.where() for block in BASH_BLOCKS])
def test_every_command_line_parses_with_the_real_parser(block: Block) -> None:
    for argv in command_lines(block.code):
        parse_with_real_parser(argv)


def test_a_broken_command_line_is_caught() -> None:
    with pytest.raises(pytest.fail.Exception, match="does not parse"):
        parse_with_real_parser(["nas-search", "--device", "dsp", "--no-such-option"])
    with pytest.raises(pytest.fail.Exception, match="unknown command"):
        parse_with_real_parser(["nas-serch", "--device", "dsp"])


def test_cli_reference_hook_renders_every_option_of_every_parser() -> None:
    page = HOOK.on_page_markdown((REPO / "docs" / "reference" / "cli.md").read_text(encoding="utf-8"))
    assert HOOK.MARKER not in page
    for command in HOOK.PARSERS:
        assert f"## `{command}`" in page
        for action in HOOK.build_parser(command)._actions:  # the hook reads this private list; see its comment
            for flag in action.option_strings:
                if flag not in {"-h", "--help"}:
                    assert f"`{flag}" in page, (command, flag)


YAML_BLOCKS = [block for block in ALL_BLOCKS if block.lang == "yaml"]


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=[block.where() for block in YAML_BLOCKS])
def test_every_yaml_example_is_a_valid_architecture_or_space(block: Block, tmp_path: Path) -> None:
    path = tmp_path / "example.yaml"
    path.write_text(block.code, encoding="utf-8")
    arch, _ = nas.load_target(str(path))
    assert nas.count(arch).macs > 0


def _environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [environment.get("PYTHONPATH")])])
    environment.setdefault("OMP_NUM_THREADS", "1")
    return environment


def _shipped_files() -> dict[str, int]:
    """Names and sizes under the shipped data folders: a docs example must not write there."""
    return {
        str(path.relative_to(REPO)): path.stat().st_size
        for folder in ("latency_tables", "search_spaces")
        for path in (REPO / folder).rglob("*")
    }


def run_block(block: Block, folder: Path) -> None:
    """Run one block in ``folder``; fail with its output when it does not do what the page says."""
    if block.lang == "python":
        command = [sys.executable, "-c", block.code]
    else:
        command = ["bash", "-o", "pipefail", *([] if block.exit_status is not None else ["-e"]), "-c", block.code]
    done = subprocess.run(command, check=False, cwd=folder, env=_environment(), capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    expected = 0 if block.exit_status is None else block.exit_status
    report = f"{block.where()} exited {done.returncode}, expected {expected}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    assert done.returncode == expected, report
    if block.exit_status is not None:
        assert len(done.stderr.strip().splitlines()) == 1, report


@pytest.mark.slow
@pytest.mark.parametrize("page", RUN_PAGES, ids=[str(page.relative_to(REPO)) for page in RUN_PAGES])
def test_page_examples_run(page: Path, tmp_path: Path) -> None:
    before = _shipped_files()
    for block in blocks(page):
        if block.lang in {"bash", "python"} and block.no_run is None:
            run_block(block, tmp_path)
    assert _shipped_files() == before, "a docs example changed the shipped latency_tables/ or search_spaces/"


def test_a_failing_example_fails(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    broken = Block(page, 1, "python", "import nas\nnas.search(no_such_parameter=1)\n")
    with pytest.raises(AssertionError, match="exited 1, expected 0"):
        run_block(Block(REPO / "README.md", broken.line, broken.lang, broken.code), tmp_path)
    with pytest.raises(AssertionError, match="expected 0"):
        run_block(Block(REPO / "README.md", 1, "bash", "nas-inspect no_such_space\necho still here\n"), tmp_path)
