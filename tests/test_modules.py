"""Flask 0.6 modules (DESIGN §4): naming, prefixes, hooks, url_for, static, templates."""

from __future__ import annotations

import os
import typing as t

import pytest
from jinja2 import Environment, FileSystemLoader
from modapp.admin import admin as package_admin

from phial import Module, Phial, request, url_for
from phial.modules import resolve_module_endpoint

if t.TYPE_CHECKING:
    from phial.wrappers import Response

MODAPP_ADMIN = os.path.join(os.path.dirname(__file__), "modapp", "admin")


def make_module(name: str = "admin", **kwargs: t.Any) -> Module:
    """A module rooted in the tests folder (the ``app`` fixture's folder)."""
    mod = Module(f"yourapp.{name}", **kwargs)
    mod.root_path = os.path.dirname(__file__)
    return mod


def add_index(app: Phial, mod: Module) -> None:
    @app.route("/")
    def index() -> str:
        return f"app index ({request.module})"

    @mod.route("/", endpoint="index")
    def module_index() -> str:
        return f"module index ({request.module})"


# -- naming ---------------------------------------------------------------------------------


def test_name_is_last_dotted_part_of_import_name() -> None:
    assert Module("yourapp.admin").name == "admin"
    assert Module("a.b.frontend").name == "frontend"


def test_explicit_name_wins() -> None:
    mod = Module("yourapp.admin", name="backend")
    assert mod.name == "backend"
    assert mod.import_name == "yourapp.admin"
    assert repr(mod) == "<Module 'backend'>"


def test_name_is_required_without_a_dot() -> None:
    with pytest.raises(ValueError, match=r"no dot.*name="):
        Module("admin")
    assert Module("admin", name="admin").name == "admin"


@pytest.mark.parametrize("name", ["", "a.b"])
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="name"):
        Module("yourapp.admin", name=name)


def test_endpoints_are_module_dot_function(app: Phial) -> None:
    mod = make_module()

    @mod.route("/list")
    def listing() -> str:
        return "list"

    @mod.route("/other", endpoint="custom")
    def other() -> str:
        return "other"

    app.register_module(mod)
    assert app.view_functions["admin.listing"] is listing
    assert app.view_functions["admin.custom"] is other
    assert {r.endpoint for r in app.url_map.iter_rules()} >= {"admin.listing", "admin.custom"}


def test_dotted_endpoint_is_refused() -> None:
    mod = make_module()
    with pytest.raises(ValueError, match="may not contain a dot"):
        mod.add_url_rule("/", "a.b", lambda: "x")


def test_endpoint_or_view_is_required() -> None:
    with pytest.raises(TypeError, match="expected view func"):
        make_module().add_url_rule("/")


def test_route_options_reach_the_rule(app: Phial) -> None:
    mod = make_module()

    @mod.route("/save", methods=["POST"])
    def save() -> str:
        return "saved"

    app.register_module(mod)
    client = app.test_client()
    assert client.post("/save").data == b"saved"
    assert client.get("/save").status_code == 405


# -- prefixes and subdomains ----------------------------------------------------------------


def _module_with_page(**kwargs: t.Any) -> Module:
    mod = make_module(**kwargs)

    @mod.route("/page")
    def page() -> str:
        return f"page of {request.module}"

    return mod


def test_constructor_url_prefix(app: Phial) -> None:
    app.register_module(_module_with_page(url_prefix="/admin"))
    client = app.test_client()
    assert client.get("/admin/page").data == b"page of admin"
    assert client.get("/page").status_code == 404


def test_register_module_url_prefix_overrides(app: Phial) -> None:
    app.register_module(_module_with_page(url_prefix="/admin"), url_prefix="/backend/")
    client = app.test_client()
    assert client.get("/backend/page").data == b"page of admin"
    assert client.get("/admin/page").status_code == 404


def test_no_prefix(app: Phial) -> None:
    app.register_module(_module_with_page())
    assert app.test_client().get("/page").data == b"page of admin"


def _subdomain_app() -> Phial:
    app = Phial("test_app", root_path=os.path.dirname(__file__), subdomain_matching=True)
    app.config.update(TESTING=True, SERVER_NAME="example.test")
    return app


def test_constructor_subdomain() -> None:
    app = _subdomain_app()
    app.register_module(_module_with_page(subdomain="admin"))
    client = app.test_client()
    assert client.get("/page", base_url="http://admin.example.test").data == b"page of admin"
    assert client.get("/page", base_url="http://example.test").status_code == 404


def test_register_module_subdomain_overrides() -> None:
    app = _subdomain_app()
    app.register_module(_module_with_page(subdomain="admin"), subdomain="staff")
    client = app.test_client()
    assert client.get("/page", base_url="http://staff.example.test").data == b"page of admin"
    assert client.get("/page", base_url="http://admin.example.test").status_code == 404
    with app.app_context():
        assert url_for("admin.page") == "http://staff.example.test/page"


def test_explicit_rule_subdomain_beats_the_modules() -> None:
    app = _subdomain_app()
    mod = make_module(subdomain="admin")

    @mod.route("/api", subdomain="api")
    def api() -> str:
        return "api"

    app.register_module(mod)
    client = app.test_client()
    assert client.get("/api", base_url="http://api.example.test").data == b"api"


# -- app.modules and registration errors ----------------------------------------------------


def test_register_module_stores_the_module(app: Phial) -> None:
    mod = make_module()
    assert app.modules == {}
    app.register_module(mod)
    assert app.modules == {"admin": mod}


def test_same_module_twice_is_refused(app: Phial) -> None:
    mod = make_module()
    app.register_module(mod)
    with pytest.raises(ValueError, match="This module is already registered as 'admin'"):
        app.register_module(mod, url_prefix="/again")


def test_two_modules_with_one_name_are_refused(app: Phial) -> None:
    app.register_module(make_module())
    with pytest.raises(ValueError, match=r"Another module .* already registered as 'admin'"):
        app.register_module(Module("other.admin"))


def test_module_name_clashing_with_a_blueprint_is_refused(app: Phial) -> None:
    app.blueprints["admin"] = object()
    with pytest.raises(ValueError, match="blueprint is already registered as 'admin'"):
        app.register_module(make_module())
    assert "admin" not in app.modules


def test_recording_after_registration_raises(app: Phial) -> None:
    mod = make_module()
    app.register_module(mod)
    with pytest.raises(AssertionError, match="already been registered"):
        mod.add_url_rule("/late", "late", lambda: "late")
    with pytest.raises(AssertionError, match=r"before calling app\.register_module"):
        mod.before_request(lambda: None)


def test_register_module_after_first_request_raises(app: Phial) -> None:
    app.add_url_rule("/", "index", lambda: "ok")
    app.test_client().get("/")
    with pytest.raises(AssertionError, match="register_module"):
        app.register_module(make_module())


def test_one_module_in_two_apps(app: Phial) -> None:
    mod = _module_with_page()
    seen: list[str] = []
    mod.before_request(lambda: seen.append("hook") or None)
    other = Phial("other_app", root_path=os.path.dirname(__file__))
    app.register_module(mod, url_prefix="/one")
    other.register_module(mod, url_prefix="/two")
    assert app.test_client().get("/one/page").data == b"page of admin"
    assert other.test_client().get("/two/page").data == b"page of admin"
    assert seen == ["hook", "hook"]


# -- request.module --------------------------------------------------------------------------


def test_request_module(app: Phial) -> None:
    mod = make_module(url_prefix="/admin")
    add_index(app, mod)
    app.register_module(mod)
    client = app.test_client()
    assert client.get("/").data == b"app index (None)"
    assert client.get("/admin/").data == b"module index (admin)"


def test_request_module_without_a_match(app: Phial) -> None:
    with app.test_request_context("/nowhere"):
        assert request.module is None


def test_request_module_is_the_part_before_the_last_dot(app: Phial) -> None:
    app.add_url_rule("/x", "a.b.view", lambda: str(request.module))
    assert app.test_client().get("/x").data == b"a.b"


# -- hooks -----------------------------------------------------------------------------------


def _hooked_app(app: Phial) -> tuple[Module, list[str]]:
    calls: list[str] = []
    mod = make_module(url_prefix="/admin")
    add_index(app, mod)

    @app.before_request
    def app_before() -> None:
        calls.append("app before")

    @mod.before_request
    def mod_before() -> None:
        calls.append("module before")

    @mod.before_app_request
    def mod_app_before() -> None:
        calls.append("module app-wide before")

    @mod.after_request
    def mod_after(response: Response) -> Response:
        calls.append("module after")
        response.headers["X-Module"] = "yes"
        return response

    @mod.after_app_request
    def mod_app_after(response: Response) -> Response:
        calls.append("module app-wide after")
        response.headers["X-App-Wide"] = "yes"
        return response

    app.register_module(mod)
    return mod, calls


def test_module_hooks_run_only_for_module_requests(app: Phial) -> None:
    _, calls = _hooked_app(app)
    response = app.test_client().get("/")
    assert response.data == b"app index (None)"
    assert calls == ["app before", "module app-wide before", "module app-wide after"]
    assert "X-Module" not in response.headers
    assert response.headers["X-App-Wide"] == "yes"


def test_module_requests_run_app_and_module_hooks(app: Phial) -> None:
    _, calls = _hooked_app(app)
    response = app.test_client().get("/admin/")
    assert response.data == b"module index (admin)"
    assert calls == [
        "app before",
        "module app-wide before",
        "module before",
        "module after",
        "module app-wide after",
    ]
    assert response.headers["X-Module"] == "yes"
    assert response.headers["X-App-Wide"] == "yes"


def test_hooks_are_stored_under_the_module_scope(app: Phial) -> None:
    _hooked_app(app)
    assert [f.__name__ for f in app.before_request_funcs["admin"]] == ["mod_before"]
    assert [f.__name__ for f in app.before_request_funcs[None]] == [
        "app_before",
        "mod_app_before",
    ]
    assert [f.__name__ for f in app.after_request_funcs["admin"]] == ["mod_after"]
    assert [f.__name__ for f in app.after_request_funcs[None]] == ["mod_app_after"]


def test_module_before_request_can_answer(app: Phial) -> None:
    mod = _module_with_page()

    @mod.before_request
    def deny() -> tuple[str, int]:
        return "denied", 403

    @app.route("/open")
    def open_view() -> str:
        return "open"

    app.register_module(mod)
    client = app.test_client()
    assert client.get("/page").status_code == 403
    assert client.get("/open").data == b"open"


def test_context_processors_are_scoped(app: Phial) -> None:
    mod = make_module()

    @mod.context_processor
    def module_only() -> dict[str, t.Any]:
        return {"where": "module"}

    @mod.app_context_processor
    def everywhere() -> dict[str, t.Any]:
        return {"everywhere": True}

    app.register_module(mod)
    assert app.template_context_processors["admin"] == [module_only]
    assert everywhere in app.template_context_processors[None]
    assert module_only not in app.template_context_processors[None]


def test_app_errorhandler_by_code(app: Phial) -> None:
    mod = make_module()

    @mod.app_errorhandler(404)
    def not_found(e: Exception) -> tuple[str, int]:
        return "module-provided 404", 404

    app.register_module(mod)
    response = app.test_client().get("/missing")
    assert response.status_code == 404
    assert response.data == b"module-provided 404"


def test_app_errorhandler_by_exception_class(app: Phial) -> None:
    mod = make_module()

    class Boom(Exception):
        pass

    @mod.app_errorhandler(Boom)
    def boom(e: Boom) -> tuple[str, int]:
        return "handled boom", 418

    @app.route("/boom")
    def raise_boom() -> str:
        raise Boom

    app.register_module(mod)
    response = app.test_client().get("/boom")
    assert (response.status_code, response.data) == (418, b"handled boom")


def test_app_errorhandler_rejects_unknown_codes(app: Phial) -> None:
    mod = make_module()
    mod.app_errorhandler(999)(lambda e: "x")
    with pytest.raises(ValueError, match="not a recognized HTTP error code"):
        app.register_module(mod)


# -- url_for ---------------------------------------------------------------------------------


def _url_app(app: Phial) -> None:
    mod = make_module(url_prefix="/admin")
    add_index(app, mod)

    other = make_module("other", url_prefix="/other")
    other.add_url_rule("/", "index", lambda: "other")

    @mod.route("/urls")
    def urls() -> dict[str, str]:
        return {
            "index": url_for("index"),
            ".index": url_for(".index"),
            "admin.index": url_for("admin.index"),
            "other.index": url_for("other.index"),
        }

    @app.route("/urls")
    def app_urls() -> dict[str, str]:
        return {"index": url_for("index"), ".index": url_for(".index")}

    app.register_module(mod)
    app.register_module(other)


def test_url_for_during_a_module_request(app: Phial) -> None:
    _url_app(app)
    assert app.test_client().get("/admin/urls").get_json() == {
        "index": "/admin/",  # undotted: module-relative
        ".index": "/",  # leading dot: the application's
        "admin.index": "/admin/",  # dotted: as written
        "other.index": "/other/",
    }


def test_url_for_during_an_app_request(app: Phial) -> None:
    _url_app(app)
    assert app.test_client().get("/urls").get_json() == {"index": "/", ".index": "/"}


def test_url_for_outside_a_request(app: Phial) -> None:
    _url_app(app)
    app.config["SERVER_NAME"] = "example.test"
    with app.app_context():
        assert url_for("admin.index") == "http://example.test/admin/"
        assert url_for("index") == "http://example.test/"


def test_blueprint_rules_apply_to_non_module_endpoints(app: Phial) -> None:
    # An endpoint "bp.*" that is not a registered module resolves like a blueprint's.
    _url_app(app)
    app.add_url_rule("/bp/", "bp.index", lambda: "bp")
    app.add_url_rule(
        "/bp/urls",
        "bp.urls",
        lambda: {"index": url_for("index"), ".index": url_for(".index")},
    )
    assert app.test_client().get("/bp/urls").get_json() == {"index": "/", ".index": "/bp/"}


def test_resolve_module_endpoint() -> None:
    assert resolve_module_endpoint("index", "admin") == "admin.index"
    assert resolve_module_endpoint(".index", "admin") == "index"
    assert resolve_module_endpoint("other.index", "admin") == "other.index"


# -- static files ----------------------------------------------------------------------------


def test_package_module_root_path() -> None:
    assert package_admin.name == "admin"
    assert package_admin.root_path == MODAPP_ADMIN
    assert package_admin.static_folder == os.path.join(MODAPP_ADMIN, "static")
    assert package_admin.has_static_folder


def test_static_route_of_a_module_in_another_folder(app: Phial) -> None:
    app.register_module(package_admin)
    rules = {r.endpoint: r.rule for r in app.url_map.iter_rules()}
    assert rules["admin.static"] == "/admin/static/<path:filename>"
    client = app.test_client()
    response = client.get("/admin/static/style.css")
    assert response.status_code == 200
    assert response.data == b"body { color: red; }\n"
    response.close()
    assert client.get("/admin/static/missing.css").status_code == 404
    assert client.get("/admin/static/../__init__.py").status_code == 404
    assert client.get("/admin/").data == b"admin index (admin)"


def test_static_route_follows_register_module_prefix(app: Phial) -> None:
    app.register_module(package_admin, url_prefix="/backend")
    rules = {r.endpoint: r.rule for r in app.url_map.iter_rules()}
    assert rules["admin.static"] == "/backend/static/<path:filename>"


def test_static_route_without_prefix(app: Phial) -> None:
    app.register_module(package_admin, url_prefix="")
    rules = {r.endpoint: r.rule for r in app.url_map.iter_rules()}
    assert rules["admin.static"] == "/static/<path:filename>"
    assert rules["static"] == "/static/<path:filename>"


def test_static_path_changes_the_url_not_the_folder(app: Phial) -> None:
    mod = Module("modapp.admin", name="assets", url_prefix="/a", static_path="/files/")
    app.register_module(mod)
    rules = {r.endpoint: r.rule for r in app.url_map.iter_rules()}
    assert rules["assets.static"] == "/a/files/<path:filename>"
    response = app.test_client().get("/a/files/style.css")
    assert response.data == b"body { color: red; }\n"
    response.close()


def test_no_static_route_for_a_module_in_the_app_folder(app: Phial) -> None:
    app.register_module(make_module(url_prefix="/admin"))
    assert "admin.static" not in {r.endpoint for r in app.url_map.iter_rules()}


def test_static_route_takes_the_subdomain() -> None:
    app = _subdomain_app()
    app.register_module(package_admin, subdomain="admin")
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "admin.static")
    assert rule.subdomain == "admin"


def test_url_for_static_in_a_module_request(app: Phial) -> None:
    mod = Module("modapp.admin", name="files", url_prefix="/files")

    @mod.route("/urls")
    def urls() -> dict[str, str]:
        return {
            "static": url_for("static", filename="style.css"),
            ".static": url_for(".static", filename="app.css"),
        }

    app.register_module(mod)
    assert app.test_client().get("/files/urls").get_json() == {
        "static": "/files/static/style.css",  # the module's own
        ".static": "/static/app.css",  # the application's
    }


# -- templates -------------------------------------------------------------------------------


def test_jinja_loader_reads_the_module_templates_folder() -> None:
    loader = package_admin.jinja_loader
    assert isinstance(loader, FileSystemLoader)
    assert loader.searchpath == [os.path.join(MODAPP_ADMIN, "templates")]
    assert package_admin.jinja_loader is loader  # built once
    source, filename, _ = loader.get_source(Environment(), "index.html")
    assert source == "admin says {{ word }}\n"
    assert filename == os.path.join(MODAPP_ADMIN, "templates", "index.html")


def test_jinja_loader_is_none_without_templates() -> None:
    mod = Module("nowhere.admin")
    mod.root_path = os.path.join(MODAPP_ADMIN, "static")
    assert mod.jinja_loader is None


def test_render_template_prefers_the_module_folder(app: Phial) -> None:
    templating = pytest.importorskip("phial.templating")
    mod = Module("modapp.admin", url_prefix="/admin")

    @mod.route("/page")
    def page() -> str:
        return str(templating.render_template("admin/index.html", word="hi"))

    app.register_module(mod)
    assert app.test_client().get("/admin/page").data == b"admin says hi"


def test_module_context_processor_applies_in_templates(app: Phial) -> None:
    templating = pytest.importorskip("phial.templating")
    mod = make_module(url_prefix="/admin")

    @mod.context_processor
    def module_only() -> dict[str, t.Any]:
        return {"where": "module"}

    @mod.app_context_processor
    def everywhere() -> dict[str, t.Any]:
        return {"also": "everywhere"}

    @mod.route("/")
    def page() -> str:
        return str(templating.render_template_string("{{ where }} {{ also }}"))

    @app.route("/")
    def app_page() -> str:
        return str(templating.render_template_string("[{{ where }}] {{ also }}"))

    app.register_module(mod)
    client = app.test_client()
    assert client.get("/admin/").data == b"module everywhere"
    assert client.get("/").data == b"[] everywhere"


# -- sessions and blueprints -----------------------------------------------------------------


def test_sessions_work_the_same_in_modules(app: Phial) -> None:
    pytest.importorskip("phial.sessions")
    from phial import session

    mod = make_module(url_prefix="/admin")

    @mod.route("/set")
    def set_value() -> str:
        session["who"] = request.module
        return "set"

    @app.route("/get")
    def get_value() -> str:
        return str(session.get("who"))

    app.register_module(mod)
    client = app.test_client()
    client.get("/admin/set")
    assert client.get("/get").data == b"admin"


def test_a_module_and_a_blueprint_in_one_app(app: Phial) -> None:
    blueprints = pytest.importorskip("phial.blueprints")
    bp = blueprints.Blueprint("bp", __name__, url_prefix="/bp")
    mod = make_module(url_prefix="/admin")

    @bp.route("/")
    def index() -> dict[str, t.Any]:
        return {"module": request.module, "index": url_for("index"), ".index": url_for(".index")}

    @mod.route("/")
    def mod_index() -> dict[str, t.Any]:
        return {"module": request.module, ".index": url_for(".index")}

    @app.route("/", endpoint="index")
    def app_index() -> str:
        return "app"

    app.register_blueprint(bp)
    app.register_module(mod)
    with pytest.raises(ValueError, match="blueprint is already registered as 'bp'"):
        app.register_module(make_module("bp"))
    with pytest.raises(ValueError, match="module is already registered as 'admin'"):
        app.register_blueprint(blueprints.Blueprint("admin", __name__))
    client = app.test_client()
    # Blueprint rules for the blueprint's request, module rules for the module's.
    assert client.get("/bp/").get_json() == {"module": "bp", "index": "/", ".index": "/bp/"}
    assert client.get("/admin/").get_json() == {"module": "admin", ".index": "/"}
