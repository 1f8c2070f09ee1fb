"""Test isolation for the CLI tests: loading apps changes global state."""

from __future__ import annotations

import os
import sys
import typing as t
from pathlib import Path

import pytest

TESTS = Path(__file__).parent.parent
CLIAPPS = TESTS / "cliapps"


@pytest.fixture(autouse=True)
def isolate_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> t.Iterator[None]:
    """Undo what loading apps changes: environment, sys.path, imported test modules."""
    saved_env = dict(os.environ)
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    for name in ("FLASK_APP", "PHIAL_APP", "FLASK_DEBUG", "PHIAL_DEBUG", "FLASK_RUN_FROM_CLI"):
        monkeypatch.delenv(name, raising=False)
    for name in ("FLASK_SKIP_DOTENV", "PHIAL_SKIP_DOTENV", "FLASK_ENV_FILE", "PHIAL_ENV_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.syspath_prepend(str(TESTS))
    yield
    os.environ.clear()
    os.environ.update(saved_env)
    sys.path[:] = saved_path
    for name in set(sys.modules) - saved_modules:
        file = getattr(sys.modules[name], "__file__", None) or ""
        if name.startswith("cliapps") or file.startswith(str(tmp_path)):
            del sys.modules[name]


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` (UTF-8) and return the path."""
    path.write_text(text, encoding="utf-8")
    return path
