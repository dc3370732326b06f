"""mkdocs hook: render the CLI reference from the real argparse parsers at build time.

A page that contains ``<!-- cli-reference -->`` gets one section per command, built from
``nas.cli.<module>.build_parser()``; the docs can therefore never drift from the options.
The test of the docs' examples imports ``PARSERS`` from here to check command lines.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

MARKER = "<!-- cli-reference -->"

#: command line prefix → module whose ``build_parser()`` builds its parser (``nas-profile`` dispatches its subcommands itself).
PARSERS: dict[str, str] = {
    "nas-search": "nas.cli.search",
    "nas-inspect": "nas.cli.inspect",
    "nas-export": "nas.cli.export",
    "nas-train": "nas.cli.train",
    "nas-supernet train": "nas.cli.supernet",
    "nas-profile": "nas.cli.profile",
    "nas-profile validate": "nas.cli.profile_validate",
    "nas-profile import": "nas.cli.profile_import",
    "nas-profile fit": "nas.cli.profile_fit",
}


def build_parser(command: str) -> argparse.ArgumentParser:
    """The real parser of ``command`` (a key of ``PARSERS``)."""
    return importlib.import_module(PARSERS[command]).build_parser()


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def _flags(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    metavar = "" if action.nargs == 0 else " " + (action.metavar or action.dest.upper())
    if action.choices and action.nargs != 0 and action.metavar is None:
        metavar = " {" + ",".join(str(choice) for choice in action.choices) + "}"
    return ", ".join(f"`{flag}{metavar}`" for flag in action.option_strings)


def _default(action: argparse.Action) -> str:
    if action.required and action.option_strings:
        return "required"
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS, [], False):
        return ""
    return f"`{action.default}`"


def render(command: str) -> str:
    """One command's section: usage, description, and a table of its arguments."""
    parser = build_parser(command)
    parser.formatter_class = lambda prog: argparse.HelpFormatter(prog, width=76)
    usage = parser.format_usage().removeprefix("usage: ").strip()
    rows = ["| argument | default | help |", "| --- | --- | --- |"]
    # argparse has no public list of a parser's actions; format_help reads this same private list.
    # tests/test_docs_examples.py renders every command, so a change in argparse fails there.
    for action in parser._actions:
        if "-h" in action.option_strings:
            continue
        rows.append(f"| {_flags(action)} | {_cell(_default(action))} | {_cell(action.help)} |")
    parts = [f"## `{command}`", "", f"```text\n{usage}\n```", "", _cell(parser.description), ""]
    if parser.epilog:
        parts += [_cell(parser.epilog), ""]
    return "\n".join(parts + rows + [""])


def on_page_markdown(markdown: str, **_: Any) -> str:
    """mkdocs event: replace the marker with the generated reference."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, "\n".join(render(command) for command in PARSERS))
