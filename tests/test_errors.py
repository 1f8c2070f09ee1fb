"""Errors: abort, error handlers, the handle_* steps, propagation and trapping."""

from __future__ import annotations

import functools
import logging
import typing as t

import pytest
from werkzeug.exceptions import (
    BadRequest,
    BadRequestKeyError,
    Forbidden,
    HTTPException,
    InternalServerError,
    NotFound,
)

from phial import Aborter, Phial, abort, request
from phial.testing import FlaskClient
from phial.wrappers import Response


def test_abort_with_code(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> str:
        abort(403)

    rv = client.get("/")
    assert rv.status_code == 403
    assert b"Forbidden" in rv.data


def test_abort_with_description(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> str:
        abort(404, description="no such thing")

    rv = client.get("/")
    assert rv.status_code == 404
    assert b"no such thing" in rv.data


def test_abort_with_response(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> str:
        abort(Response("custom body", status=418))

    rv = client.get("/")
    assert rv.status_code == 418
    assert rv.data == b"custom body"


def test_abort_outside_app_context() -> None:
    with pytest.raises(NotFound):
        abort(404)
    with pytest.raises(LookupError):
        abort(999)


def test_aborter_class_used(client: FlaskClient) -> None:
    class TeapotAborter(Aborter):
        def __call__(self, code: t.Any, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
            raise Forbidden(f"aborter saw {code}")

    class App(Phial):
        aborter_class = TeapotAborter

    app = App("x")

    @app.route("/")
    def index() -> str:
        abort(500)

    assert isinstance(app.aborter, TeapotAborter)
    rv = app.test_client().get("/")
    assert rv.status_code == 403
    assert b"aborter saw 500" in rv.data


def test_aborter_mapping_extended(app: Phial, client: FlaskClient) -> None:
    class Unavailable(HTTPException):
        code = 599
        description = "custom code"

    app.aborter.mapping[599] = Unavailable

    @app.route("/")
    def index() -> str:
        abort(599)

    rv = client.get("/")
    assert rv.status_code == 599
    assert b"custom code" in rv.data


def test_errorhandler_by_code(app: Phial, client: FlaskClient) -> None:
    @app.errorhandler(404)
    def not_found(e: NotFound) -> tuple[str, int]:
        return f"missing {request.path} ({type(e).__name__})", 404

    rv = client.get("/nope")
    assert rv.status_code == 404
    assert rv.data == b"missing /nope (NotFound)"


def test_errorhandler_by_http_class_matches_code(app: Phial, client: FlaskClient) -> None:
    @app.errorhandler(NotFound)
    def not_found(e: NotFound) -> tuple[str, int]:
        return "by class", 404

    assert client.get("/nope").data == b"by class"


def test_errorhandler_by_exception_class(app: Phial, client: FlaskClient) -> None:
    class AppError(Exception):
        pass

    class SpecificError(AppError):
        pass

    @app.errorhandler(AppError)
    def handle(e: AppError) -> tuple[str, int]:
        return f"handled {type(e).__name__}", 409

    @app.route("/")
    def index() -> str:
        raise SpecificError()

    rv = client.get("/")
    assert rv.status_code == 409
    assert rv.data == b"handled SpecificError"


def test_register_error_handler(app: Phial, client: FlaskClient) -> None:
    def handler(e: Exception) -> tuple[str, int]:
        return "registered", 400

    app.register_error_handler(ValueError, handler)

    @app.route("/")
    def index() -> str:
        raise ValueError()

    rv = client.get("/")
    assert rv.status_code == 400
    assert rv.data == b"registered"


def test_register_error_handler_invalid(app: Phial) -> None:
    with pytest.raises(ValueError, match="not a recognized HTTP error code"):
        app.register_error_handler(999, lambda e: "")
    with pytest.raises(TypeError, match="instance"):
        app.register_error_handler(ValueError(), lambda e: "")  # type: ignore[arg-type]  # the misuse under test
    with pytest.raises(ValueError, match="not a subclass of Exception"):
        app.register_error_handler(str, lambda e: "")  # type: ignore[arg-type]  # the misuse under test


def test_lookup_code_before_mro(app: Phial, client: FlaskClient) -> None:
    @app.errorhandler(HTTPException)
    def any_http(e: HTTPException) -> tuple[str, int]:
        return f"generic {e.code}", e.code or 500

    @app.errorhandler(403)
    def forbidden(e: HTTPException) -> tuple[str, int]:
        return "by code", 403

    @app.route("/403")
    def f403() -> str:
        abort(403)

    @app.route("/400")
    def f400() -> str:
        abort(400)

    assert client.get("/403").data == b"by code"
    assert client.get("/400").data == b"generic 400"
    assert client.get("/nope").data == b"generic 404"


def test_lookup_most_specific_class_in_mro(app: Phial, client: FlaskClient) -> None:
    @app.errorhandler(Exception)
    def base(e: Exception) -> tuple[str, int]:
        return "exception", 500

    @app.errorhandler(LookupError)
    def lookup(e: Exception) -> tuple[str, int]:
        return "lookup", 500

    @app.route("/")
    def index() -> str:
        raise KeyError("k")

    assert client.get("/").data == b"lookup"


def test_http_exception_subclass_handler(app: Phial, client: FlaskClient) -> None:
    class MyForbidden(Forbidden):
        pass

    @app.errorhandler(MyForbidden)
    def mine(e: Exception) -> tuple[str, int]:
        return "mine", 403

    @app.route("/mine")
    def raise_mine() -> str:
        raise MyForbidden()

    @app.route("/plain")
    def raise_plain() -> str:
        raise Forbidden()

    assert client.get("/mine").data == b"mine"
    assert b"Forbidden" in client.get("/plain").data
    assert client.get("/plain").data != b"mine"


def test_http_exception_raised_and_returned(app: Phial, client: FlaskClient) -> None:
    @app.route("/raised")
    def raised() -> str:
        raise BadRequest("raised it")

    @app.route("/returned")
    def returned() -> t.Any:
        return BadRequest("returned it")

    rv = client.get("/raised")
    assert rv.status_code == 400
    assert b"raised it" in rv.data
    rv = client.get("/returned")
    assert rv.status_code == 400
    assert b"returned it" in rv.data


def test_error_in_error_handler_propagates(app: Phial, client: FlaskClient) -> None:
    @app.errorhandler(404)
    def broken(e: Exception) -> str:
        raise RuntimeError("handler broke")

    with pytest.raises(RuntimeError, match="handler broke"):
        client.get("/nope")


def test_500_handler_gets_original_exception(app: Phial, client: FlaskClient) -> None:
    app.testing = False
    seen: list[t.Any] = []

    @app.errorhandler(500)
    def server_error(e: InternalServerError) -> tuple[str, int]:
        seen.append(e.original_exception)
        return "sorry", 500

    error = ZeroDivisionError()

    @app.route("/")
    def index() -> str:
        raise error

    rv = client.get("/")
    assert rv.status_code == 500
    assert rv.data == b"sorry"
    assert seen == [error]


def test_unhandled_error_is_logged_and_plain_500(
    app: Phial, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.testing = False

    @app.route("/explode", methods=["POST"])
    def explode() -> str:
        raise ValueError("secret detail")

    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        rv = client.post("/explode")
    assert rv.status_code == 500
    assert b"Internal Server Error" in rv.data
    assert b"secret detail" not in rv.data
    assert b"Traceback" not in rv.data
    records = [r for r in caplog.records if r.name == app.logger.name]
    assert len(records) == 1
    assert records[0].getMessage() == "Exception on /explode [POST]"
    assert records[0].exc_info is not None
    assert records[0].exc_info[0] is ValueError


def test_testing_propagates(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> str:
        raise ValueError("up")

    with pytest.raises(ValueError, match="up"):
        client.get("/")


@pytest.mark.parametrize(
    ("propagate", "testing", "debug", "raises"),
    [
        (None, False, False, False),
        (None, True, False, True),
        (None, False, True, True),
        (True, False, False, True),
        (False, True, False, False),
        (False, False, True, False),
    ],
)
def test_propagate_exceptions(
    propagate: bool | None, testing: bool, debug: bool, raises: bool
) -> None:
    app = Phial("x")
    app.config.update(PROPAGATE_EXCEPTIONS=propagate, TESTING=testing, DEBUG=debug)

    @app.route("/")
    def index() -> str:
        raise ValueError("p")

    client = app.test_client()
    if raises:
        with pytest.raises(ValueError):
            client.get("/")
    else:
        assert client.get("/").status_code == 500


def test_trap_http_exceptions(app: Phial, client: FlaskClient) -> None:
    app.config["TRAP_HTTP_EXCEPTIONS"] = True

    with pytest.raises(NotFound):
        client.get("/nope")


def test_trapped_http_exception_still_finds_code_handler(app: Phial, client: FlaskClient) -> None:
    # As in Flask: a trapped exception goes through the user handler lookup.
    app.config["TRAP_HTTP_EXCEPTIONS"] = True

    @app.errorhandler(404)
    def not_found(e: Exception) -> str:
        return "handled anyway"

    assert client.get("/nope").data == b"handled anyway"


def test_trap_http_exceptions_with_class_handler(app: Phial, client: FlaskClient) -> None:
    app.config["TRAP_HTTP_EXCEPTIONS"] = True

    @app.errorhandler(Exception)
    def everything(e: Exception) -> tuple[str, int]:
        return f"trapped {type(e).__name__}", 500

    rv = client.get("/nope")
    assert rv.data == b"trapped NotFound"


def test_trap_bad_request_errors(app: Phial, client: FlaskClient) -> None:
    app.config["TRAP_BAD_REQUEST_ERRORS"] = True

    @app.route("/")
    def index() -> str:
        return request.args["missing"]

    @app.route("/forbidden")
    def forbidden() -> str:
        abort(403)

    with pytest.raises(BadRequestKeyError):
        client.get("/")
    assert client.get("/forbidden").status_code == 403


def test_bad_request_key_error_default(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> str:
        return request.form["missing"]

    rv = client.get("/")
    assert rv.status_code == 400
    assert b"missing" not in rv.data


def test_bad_request_key_error_trapped_in_debug(app: Phial, client: FlaskClient) -> None:
    app.debug = True

    @app.route("/")
    def index() -> str:
        return request.form["missing"]

    with pytest.raises(BadRequestKeyError) as info:
        client.get("/")
    assert "missing" in str(info.value)


def test_trap_bad_request_false_overrides_debug(app: Phial, client: FlaskClient) -> None:
    app.debug = True
    app.config["TRAP_BAD_REQUEST_ERRORS"] = False

    @app.route("/")
    def index() -> str:
        return request.form["missing"]

    rv = client.get("/")
    assert rv.status_code == 400
    # debug still shows which key was missing
    assert b"missing" in rv.data


# -- overriding the handle_* steps --------------------------------------------------


class _Recording(Phial):
    log: list[str]

    def handle_http_exception(self, e: HTTPException) -> t.Any:
        self.log.append(f"http {e.code}")
        return super().handle_http_exception(e)

    def handle_user_exception(self, e: Exception) -> t.Any:
        self.log.append(f"user {type(e).__name__}")
        return super().handle_user_exception(e)

    def handle_exception(self, e: Exception) -> Response:
        self.log.append(f"exception {type(e).__name__}")
        return super().handle_exception(e)


def test_handle_steps_overridden_in_subclass() -> None:
    app = _Recording("x")
    app.log = []

    @app.route("/boom")
    def boom() -> str:
        raise ValueError()

    client = app.test_client()
    assert client.get("/nope").status_code == 404
    assert app.log == ["user NotFound", "http 404"]
    app.log.clear()
    assert client.get("/boom").status_code == 500
    assert app.log == ["user ValueError", "exception ValueError"]


def test_handle_http_exception_subclass_can_replace() -> None:
    class App(Phial):
        def handle_http_exception(self, e: HTTPException) -> t.Any:
            return "replaced", 299

    app = App("x")
    rv = app.test_client().get("/nope")
    assert rv.status_code == 299
    assert rv.data == b"replaced"


def test_handle_user_exception_by_instance_assignment(app: Phial, client: FlaskClient) -> None:
    # What Flask-CORS does: wrap the bound method on the instance.
    seen: list[str] = []

    def wrap(f: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        @functools.wraps(f)
        def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            seen.append(type(args[0]).__name__)
            rv = f(*args, **kwargs)
            resp = app.make_response(rv)
            resp.headers["X-Wrapped"] = "1"
            return resp

        return wrapper

    app.handle_user_exception = wrap(app.handle_user_exception)  # type: ignore[method-assign]  # as extensions do

    @app.errorhandler(ValueError)
    def value_error(e: Exception) -> tuple[str, int]:
        return "handled", 422

    @app.route("/")
    def index() -> str:
        raise ValueError()

    rv = client.get("/")
    assert rv.status_code == 422
    assert rv.data == b"handled"
    assert rv.headers["X-Wrapped"] == "1"
    rv = client.get("/nope")
    assert rv.status_code == 404
    assert rv.headers["X-Wrapped"] == "1"
    assert seen == ["ValueError", "NotFound"]


def test_handle_exception_by_instance_assignment(app: Phial, client: FlaskClient) -> None:
    app.testing = False
    original = app.handle_exception
    seen: list[str] = []

    def wrapper(e: Exception) -> Response:
        seen.append(type(e).__name__)
        resp = original(e)
        resp.headers["X-Wrapped"] = "exc"
        return resp

    app.handle_exception = wrapper  # type: ignore[method-assign]  # as extensions do

    @app.route("/")
    def index() -> str:
        raise ValueError()

    rv = client.get("/")
    assert rv.status_code == 500
    assert rv.headers["X-Wrapped"] == "exc"
    assert seen == ["ValueError"]


def test_handle_http_exception_by_instance_assignment(app: Phial, client: FlaskClient) -> None:
    original = app.handle_http_exception

    def wrapper(e: HTTPException) -> t.Any:
        rv = original(e)
        return app.make_response(rv), 200

    app.handle_http_exception = wrapper  # type: ignore[method-assign]  # as extensions do
    rv = client.get("/nope")
    assert rv.status_code == 200
    assert b"Not Found" in rv.data


def test_routing_redirect_not_passed_to_handlers(app: Phial, client: FlaskClient) -> None:
    @app.errorhandler(HTTPException)
    def any_http(e: HTTPException) -> tuple[str, int]:
        return "handler", 500

    @app.route("/dir/")
    def directory() -> str:
        return "dir"

    rv = client.get("/dir")
    assert rv.status_code == 308


def test_debug_redirect_dropping_form_body_explains(app: Phial, client: FlaskClient) -> None:
    app.debug = True

    @app.route("/dir/", methods=["POST"])
    def directory() -> str:
        return "dir"

    # Werkzeug's strict-slash redirect is 308, which keeps the body: no error.
    assert client.post("/dir", data={"a": "b"}).status_code == 308


def test_exception_handler_also_catches_http_errors(app: Phial, client: FlaskClient) -> None:
    @app.errorhandler(Exception)
    def everything(e: Exception) -> tuple[str, int]:
        return f"caught {type(e).__name__}", 500

    @app.route("/boom")
    def boom() -> str:
        raise ValueError()

    assert client.get("/nope").data == b"caught NotFound"
    assert client.get("/boom").data == b"caught ValueError"


def test_handler_returning_none_is_type_error(app: Phial, client: FlaskClient) -> None:
    @app.errorhandler(404)
    def forgetful(e: Exception) -> None:
        return None

    with pytest.raises(TypeError, match="returned None"):
        client.get("/nope")


def test_error_in_after_request_is_500(app: Phial, client: FlaskClient) -> None:
    app.testing = False

    @app.after_request
    def broken(resp: Response) -> Response:
        raise KeyError("after")

    @app.route("/")
    def index() -> str:
        return "x"

    rv = client.get("/")
    assert rv.status_code == 500
    assert b"Internal Server Error" in rv.data
