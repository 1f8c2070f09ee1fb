"""Shared by the extension scripts: installs the flask alias and builds the client.

Each script in this folder runs in its own interpreter (started by
tests/test_extensions.py), so the alias is installed before the extension
imports ``flask`` and the real Flask never gets imported.
"""

from __future__ import annotations

import os
import sys
import typing as t

from phial import Phial
from phial.compat import install_flask_alias
from phial.testing import FlaskClient

#: ``PHIAL_TEST_REAL_FLASK=1`` runs a script on the installed Flask instead, to
#: check that its expectations are Flask's behaviour.
REAL_FLASK = os.environ.get("PHIAL_TEST_REAL_FLASK") == "1"

if not REAL_FLASK:
    install_flask_alias()

#: The protocol the test client drives, from ``PHIAL_TEST_PROTOCOL``.
PROTOCOL = os.environ.get("PHIAL_TEST_PROTOCOL", "wsgi")


def make_client(app: Phial, **kwargs: t.Any) -> FlaskClient:
    """The one place the scripts build a test client, over :data:`PROTOCOL`."""
    if PROTOCOL == "wsgi" or REAL_FLASK:
        return app.test_client(**kwargs)
    return app.test_client(protocol=PROTOCOL, **kwargs)


def run(checks: list[t.Callable[[], None]]) -> None:
    """Run every check, print ``ok <name>`` per check; exit 1 on the first failure."""
    if not REAL_FLASK:
        assert sys.modules["flask"] is sys.modules["phial"]
    for check in checks:
        check()
        print(f"ok {check.__name__}", flush=True)
    if REAL_FLASK:
        return
    # The extension must have run on phial, never on the installed Flask.
    leaked = [
        n
        for n, m in sys.modules.items()
        if n.startswith("flask.") and m is not None and not m.__name__.startswith("phial")
    ]
    assert not leaked, f"real flask modules imported: {leaked}"
