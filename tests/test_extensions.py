"""Flask extensions run unmodified on phial through the flask alias.

Each extension's app and its assertions live in a script under
tests/extensions/; the script runs in its own interpreter (the alias must be
installed before the extension imports ``flask``, and this process may have
imported the real Flask already) and builds every test client through
``_harness.make_client`` for the protocol in ``PHIAL_TEST_PROTOCOL``.
"""

from __future__ import annotations

import os
import typing as t

import pytest
from _subprocess import run_python

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "extensions")


# Every script runs twice: over WSGI and over ASGI.
@pytest.fixture(params=["wsgi", "asgi"])
def protocol(request: pytest.FixtureRequest) -> str:
    """The protocol the scripts' test clients drive (``PHIAL_TEST_PROTOCOL``)."""
    return t.cast(str, request.param)


def _run_script(name: str, protocol: str) -> list[str]:
    """Run tests/extensions/<name>.py; it must pass. Returns the checks it reported."""
    result = run_python(
        [os.path.join(HERE, f"{name}.py")],
        env={"PHIAL_TEST_PROTOCOL": protocol},
        path=[HERE],
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    return [line.removeprefix("ok ") for line in result.stdout.splitlines()]


def test_flask_login(protocol: str) -> None:
    assert _run_script("ext_login", protocol) == [
        "check_anonymous_is_redirected_to_login",
        "check_login_and_logout",
        "check_remember_cookie",
        "check_unauthorized_401_without_login_view",
        "check_current_user_in_templates_and_request_context",
        "check_request_loader",
        "check_current_user_after_request_in_with_client",
        "check_signals",
        "check_fresh_login_required",
    ]


def test_flask_wtf(protocol: str) -> None:
    assert _run_script("ext_wtf", protocol) == [
        "check_csrf_rejects_without_token",
        "check_csrf_accepts_token",
        "check_form_validation_errors",
        "check_exempt_view",
        "check_json_body_and_exempt_blueprint",
        "check_https_referrer_check",
        "check_file_upload",
        "check_form_outside_request_with_test_request_context",
    ]


def test_flask_sqlalchemy(protocol: str) -> None:
    checks = [
        "check_get_or_404",
        "check_paginate",
        "check_legacy_query_and_helpers",
        "check_recorded_queries",
        "check_shell_context",
        "check_session_is_scoped_to_the_app_context",
    ]
    reported = _run_script("ext_sqlalchemy", protocol)
    # Every check ran on an in-memory database and on a database file.
    assert [line.split()[0] for line in reported] == checks * 2
    assert [line.split()[1].startswith("sqlite:////") for line in reported] == [False] * 6 + [
        True
    ] * 6


def test_flask_cors(protocol: str) -> None:
    assert _run_script("ext_cors", protocol) == [
        "check_preflight",
        "check_simple_request",
        "check_decorator",
        "check_blueprint",
        "check_headers_on_error_responses",
        "check_no_route_gets_headers",
    ]


def test_flask_caching(protocol: str) -> None:
    assert _run_script("ext_caching", protocol) == [
        "check_cached_view_runs_once",
        "check_cached_by_query_string",
        "check_memoize",
        "check_unless_and_blueprint",
        "check_response_filter",
        "check_extension_registered",
        "check_jinja_fragment_cache",
        "check_cache_api_in_app_context",
    ]
