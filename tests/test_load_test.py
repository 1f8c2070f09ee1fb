"""The bounded load script (benchmarks/load_test.py), opt-in: it starts real
servers and takes about half a minute.

    PHIAL_LOAD_TEST=1 .venv/bin/python -m pytest -m load

Without ``PHIAL_LOAD_TEST=1`` the test is skipped, so the default run (and any
``-m`` selection of other markers) is unchanged.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "load_test.py"

pytestmark = [
    pytest.mark.load,
    pytest.mark.skipif(
        not os.environ.get("PHIAL_LOAD_TEST"), reason="set PHIAL_LOAD_TEST=1 to run the load test"
    ),
]


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_load_script_passes(server: str) -> None:
    if importlib.util.find_spec(server) is None:
        pytest.skip(f"{server} is not installed")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--servers", server],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"== {server}: PASS" in done.stdout
