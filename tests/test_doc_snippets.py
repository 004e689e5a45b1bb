"""Every Python example in the docs below type-checks under ``mypy --strict``.

Each ```` ```python ```` block of the pages in ``PAGES`` (an indented block in a list item
too) is written to a module of its own, and one mypy run checks them all against the installed
logmagic and the frameworks' own type hints (Starlette, FastAPI, Flask, httpx, requests;
Django through ``django-stubs``, without its mypy plugin, so no settings module is needed).
A block added to a page later is checked with the others; a new page goes in ``PAGES``.

An example must be complete: it imports what it uses and defines the objects it works on. A
block that cannot be (a fragment shown to point at one line of a larger file) is left out by
an HTML comment, invisible on the rendered page, on the line just before its fence::

    <!-- snippet: not type-checked, <why> -->

The run reads no configuration file but its own: ``strict`` and ``warn_unreachable``, as for
logmagic itself, and Python 3.10, the oldest that logmagic supports, so an example uses no
newer syntax either. A canary module with a known error is checked in the same run: a run
that checks nothing cannot pass.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PAGES = ("docs/web.md", "docs/stdlib.md")

#: The comment that leaves the next block out, with its reason.
NOT_CHECKED = re.compile(r"<!--\s*snippet:\s*not type-checked\b(.*?)-->")
FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)[ \t]*(?P<info>[^\s`]*)")

CANARY = "doc_snippet_canary"
CANARY_SOURCE = 'count: int = "three"\n'


@dataclass(frozen=True)
class Snippet:
    page: str  # relative to ROOT
    line: int  # of the first line of code, 1-based
    source: str
    excluded: str | None  # why it is not checked (maybe "", which the tests refuse), or None

    @property
    def module(self) -> str:
        return re.sub(r"\W", "_", Path(self.page).stem) + f"_line{self.line}"

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


def snippets(page: str) -> list[Snippet]:
    """The ```python blocks of ``page``, dedented by their fence's indentation."""
    lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
    found: list[Snippet] = []
    i = 0
    while i < len(lines):
        opened = FENCE_OPEN.match(lines[i])
        if opened is None:
            i += 1
            continue
        indent, fence, info = opened["indent"], opened["fence"], opened["info"].lower()
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        end = i + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        if info in ("python", "py", "python3"):
            body = [line[len(indent) :] if line.startswith(indent) else line.lstrip() for line in lines[i + 1 : end]]
            marker = NOT_CHECKED.search(lines[i - 1]) if i > 0 else None
            reason = marker[1].strip(" ,:;-") if marker else None
            found.append(Snippet(page, i + 2, textwrap.dedent("\n".join(body)) + "\n", reason))
        i = end + 1
    return found


ALL = [s for page in PAGES for s in snippets(page)]
CHECKED = [s for s in ALL if s.excluded is None]

_ERROR = re.compile(r"^(?P<file>[^:\n]+\.py):(?P<line>\d+): (?P<kind>error|note): (?P<text>.*)$", re.MULTILINE)


@pytest.fixture(scope="module")
def mypy_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[int, str]]]:
    """One mypy run over every checked snippet and the canary: module -> [(line, message)]."""
    directory = tmp_path_factory.mktemp("doc_snippets")
    files = []
    for snippet in CHECKED:
        path = directory / f"{snippet.module}.py"
        path.write_text(snippet.source, encoding="utf-8")
        files.append(path.name)
    (directory / f"{CANARY}.py").write_text(CANARY_SOURCE, encoding="utf-8")
    files.append(f"{CANARY}.py")
    # Its own configuration file: neither the project's (which is for logmagic itself and may
    # grow plugins) nor a user's is read.
    config = directory / "mypy.ini"
    config.write_text("[mypy]\nstrict = True\nwarn_unreachable = True\npython_version = 3.10\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config),
            "--cache-dir",
            str(ROOT / ".mypy_cache" / "doc-snippets"),
            "--show-error-codes",
            "--no-color-output",
            "--no-error-summary",
            *files,
        ],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode in (0, 1), f"mypy did not run (exit {done.returncode}):\n{done.stdout}{done.stderr}"
    report: dict[str, list[tuple[int, str]]] = {}
    for m in _ERROR.finditer(done.stdout):
        report.setdefault(Path(m["file"]).stem, []).append((int(m["line"]), f"{m['kind']}: {m['text']}"))
    leftover = [line for line in done.stdout.splitlines() if line and not _ERROR.match(line)]
    assert not leftover, "mypy said something not about a snippet:\n" + "\n".join(leftover)
    return report


def test_every_page_has_checked_examples() -> None:
    for page in PAGES:
        assert [s for s in CHECKED if s.page == page], f"no ```python block found in {page}"


def test_the_check_finds_a_type_error(mypy_report: dict[str, list[tuple[int, str]]]) -> None:
    problems = mypy_report.get(CANARY, [])
    assert [(line, text.rsplit(" ", 1)[-1]) for line, text in problems] == [(1, "[assignment]")], problems


@pytest.mark.parametrize("snippet", CHECKED, ids=str)
def test_example_type_checks_under_mypy_strict(snippet: Snippet, mypy_report: dict[str, list[tuple[int, str]]]) -> None:
    problems = mypy_report.get(snippet.module, [])
    shown = "\n".join(f"{snippet.page}:{snippet.line + n - 1}: {text}" for n, text in problems)
    assert not problems, f"the example at {snippet} does not type-check:\n{shown}"


def test_examples_left_out_say_why() -> None:
    for snippet in ALL:
        assert snippet.excluded != "", f"{snippet}: say why the example is not type-checked"
