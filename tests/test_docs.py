"""The documentation in docs/: every Python sample runs, and the API reference is complete.

Samples (```python blocks) of one page run in order in one namespace, so a page
may build on its earlier samples, with a temporary folder as the working
directory. A block right after ``<!-- not-run: reason -->`` is skipped (it needs
a server or ASGI); one after ``<!-- excerpt: path -->`` must appear verbatim in
that file of the repository, whose own tests run it.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
import subprocess
import sys
import textwrap
import typing as t
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))

_BLOCK = re.compile(
    r"(?:<!--\s*(?P<kind>not-run|excerpt):\s*(?P<arg>.*?)\s*-->\s*\n)?"
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[^\n]*\n(?P<code>.*?)^(?P=indent)```",
    re.MULTILINE | re.DOTALL,
)


class Block(t.NamedTuple):
    line: int
    lang: str
    code: str
    kind: str | None
    arg: str | None


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of ``page``, with their annotation."""
    text = page.read_text(encoding="utf-8")
    found = []
    for m in _BLOCK.finditer(text):
        code = textwrap.dedent(
            "\n".join(line[len(m["indent"]) :] for line in m["code"].splitlines())
        )
        line = text.count("\n", 0, m.start("lang")) + 1
        found.append(Block(line, m["lang"], code, m["kind"], m["arg"]))
    return found


def is_excerpt(code: str, source: str) -> bool:
    """Whether ``code`` is a run of lines of ``source``, dedented (an excerpt)."""
    code = code.strip("\n")
    return any(textwrap.indent(code, " " * n) in source for n in range(0, 17, 4))


def test_is_excerpt() -> None:
    source = "def f():\n    if x:\n        return 1\n"
    assert is_excerpt("if x:\n    return 1\n", source)
    assert not is_excerpt("if x:\nreturn 1\n", source)


def test_the_docs_exist() -> None:
    names = {p.relative_to(DOCS).as_posix() for p in PAGES}
    assert {
        "index.md",
        "quickstart.md",
        "tutorial.md",
        "flask.md",
        "wsgi-asgi.md",
        "deploying.md",
        "security.md",
        "testing.md",
    } <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_python_samples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, t.Any] = {"__name__": "docs_sample"}
    for block in blocks(page):
        if block.lang not in ("python", "py"):
            continue
        where = f"{page.relative_to(ROOT)}:{block.line}"
        if block.kind == "not-run":
            assert block.arg, f"{where}: say why the sample is not run"
            compile(block.code, where, "exec")  # still valid Python
            continue
        if block.kind == "excerpt":
            assert block.arg is not None
            source = (ROOT / block.arg).read_text(encoding="utf-8")
            assert is_excerpt(block.code, source), f"{where}: not an excerpt of {block.arg}"
            continue
        exec(compile(block.code, where, "exec"), namespace)


def test_blocks_are_annotated_sparingly() -> None:
    skipped = [b for p in PAGES for b in blocks(p) if b.kind == "not-run"]
    samples = [b for p in PAGES for b in blocks(p) if b.lang == "python"]
    assert len(skipped) * 5 <= len(samples), "most samples must run"


def test_block_parser() -> None:
    page = DOCS / "index.md"
    assert any(b.lang == "python" for b in blocks(page))


#: The modules whose every public name the API reference documents.
API_MODULES = [
    "phial",
    "phial.json",
    "phial.sessions",
    "phial.views",
    "phial.testing",
    "phial.cli",
    "phial.blueprints",
    "phial.modules",
    "phial.signals",
]


def public_names(module_name: str) -> set[str]:
    """``__all__``, or the names a module defines or re-exports as ``X as X``."""
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    if exported is not None:
        return set(exported)
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.ImportFrom):
            names.update(a.asname for a in node.names if a.asname and a.asname == a.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value
            is_typevar = (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Attribute)
                and value.func.attr == "TypeVar"
            )
            if not is_typevar:
                names.update(n.id for n in targets if isinstance(n, ast.Name))
    return {n for n in names if not n.startswith("_") or n == "__version__"}


@pytest.mark.parametrize("module_name", API_MODULES)
def test_api_reference_lists_every_public_name(module_name: str) -> None:
    reference = "\n".join(p.read_text(encoding="utf-8") for p in (DOCS / "api").glob("*.md"))
    missing = [
        name
        for name in sorted(public_names(module_name))
        if f"::: {module_name}.{name}\n" not in reference
        and f"`{module_name}.{name}`" not in reference
    ]
    assert not missing, f"docs/api does not document {missing}"


def test_public_names_of_phial_include_the_api() -> None:
    names = public_names("phial")
    assert {"Phial", "Flask", "request", "Module", "__version__", "Markup"} <= names
    assert "annotations" not in names
    assert "F" not in public_names("phial.cli")


@pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None,
    reason="mkdocs and mkdocstrings[python] are not installed (pip install -e '.[docs]')",
)
def test_mkdocs_build_is_strict_clean(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
