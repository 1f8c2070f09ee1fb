"""Run Python in a fresh interpreter with this checkout's phial importable.

The flask alias changes ``sys.modules`` for the whole process, and the real
Flask (a test dependency) is imported by other tests, so alias tests run in
their own interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import typing as t

import phial

SRC = os.path.dirname(os.path.dirname(os.path.abspath(phial.__file__)))


def run_python(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    path: t.Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run ``python -W error <args>``; ``path`` entries go before phial's source on PYTHONPATH."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("PHIAL_", "FLASK_"))}
    full_env["PYTHONPATH"] = os.pathsep.join([*path, SRC])
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-W", "error", *args],
        env=full_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
