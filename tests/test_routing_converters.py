"""The converter-rule matcher of ``phial._routing``: claimed matches agree
with Werkzeug's ``MapAdapter.match``, built-in converters with default
arguments are applied inline, and every other converter's ``to_python`` runs."""

from __future__ import annotations

import os
import typing as t
import uuid

import pytest
from werkzeug.exceptions import HTTPException
from werkzeug.routing import (
    BaseConverter,
    FloatConverter,
    IntegerConverter,
    Map,
    PathConverter,
    Rule,
    UnicodeConverter,
    UUIDConverter,
    ValidationError,
)
from werkzeug.test import EnvironBuilder as WzEnvironBuilder

from phial import Phial
from phial._routing import MATCHED, NO_LITERAL, _inline_conversion, _view_args_maker

HERE = os.path.dirname(os.path.abspath(__file__))


class _Upper(BaseConverter):
    """A custom converter: its to_python must run."""

    def to_python(self, value: str) -> str:
        return value.upper()


class _Even(IntegerConverter):
    """A subclass of a built-in converter: not inlined, refuses odd numbers."""

    def to_python(self, value: str) -> t.Any:
        number = super().to_python(value)
        if number % 2:
            raise ValidationError()
        return number


class _Grouped(BaseConverter):
    """A converter whose regex holds its own capture group."""

    regex = r"(a|b)+"


def _environ(path: str, method: str, host: str = "localhost") -> dict[str, t.Any]:
    environ = WzEnvironBuilder(method=method, base_url=f"http://{host}/").get_environ()
    environ["PATH_INFO"] = path.encode().decode("latin-1")
    environ["REQUEST_METHOD"] = method
    return environ


def _outcome(result: t.Any) -> t.Any:
    """What a match produced, with enough detail to compare: the endpoint and
    the view arguments with their types, or the routing exception's class,
    redirect target and allowed methods."""
    if isinstance(result, HTTPException):
        return (
            type(result).__name__,
            getattr(result, "new_url", None),
            sorted(getattr(result, "valid_methods", None) or ()),
        )
    endpoint, args = result
    return endpoint, {key: (type(value), value) for key, value in args.items()}


def _werkzeug(app: Phial, path: str, method: str, host: str = "localhost") -> t.Any:
    environ = _environ(path, method, host)
    if app.subdomain_matching:
        # Bound as the app binds it: the subdomain taken from SERVER_NAME.
        adapter = app.url_map.bind_to_environ(
            environ, server_name=app.config["SERVER_NAME"], subdomain=None
        )
    else:
        adapter = app.url_map.bind_to_environ(environ)
    try:
        rule, args = adapter.match(return_rule=True)
    except HTTPException as e:
        return _outcome(e)
    return _outcome((rule.endpoint, args))


def _phial(app: Phial, path: str, method: str, host: str = "localhost") -> t.Any:
    ctx = app.request_context(_environ(path, method, host))
    ctx.match_request()
    req = ctx.request
    if req.routing_exception is not None:
        return _outcome(req.routing_exception)
    assert req.url_rule is not None and req.view_args is not None
    return _outcome((req.url_rule.endpoint, req.view_args))


def _view(**kwargs: t.Any) -> str:
    return ""


def _converter_app(**options: t.Any) -> Phial:
    app = Phial("conv", root_path=HERE, **options)
    app.url_map.converters["upper"] = _Upper
    app.url_map.converters["even"] = _Even
    app.url_map.converters["grouped"] = _Grouped
    rules: list[tuple[str, dict[str, t.Any]]] = [
        ("/i/<int:n>", {}),
        ("/f/<float:x>", {}),
        ("/u/<uuid:u>", {}),
        ("/s/<name>", {}),
        ("/s2/<string:name>/<int:n>", {}),
        ("/mix/<int:a>/<float:b>/<uuid:c>/<d>", {}),
        ("/p/<path:rest>", {}),
        ("/any/<any(red, blue):colour>", {}),
        ("/min/<int(min=5):n>", {}),
        ("/max/<int(max=9):n>", {}),
        ("/signed/<int(signed=True):n>", {}),
        ("/fixed/<int(fixed_digits=3):n>", {}),
        ("/fsigned/<float(signed=True):x>", {}),
        ("/len/<string(length=2):code>", {}),
        ("/maxlen/<string(maxlength=3):code>", {}),
        ("/upper/<upper:word>", {}),
        ("/even/<even:n>", {}),
        ("/grouped/<grouped:g>/<int:n>", {}),
        ("/slash/<int:n>/", {}),
        ("/loose/<int:n>", {"strict_slashes": False}),
        ("/loose-dir/<int:n>/", {"strict_slashes": False}),
        ("/post/<int:n>", {"methods": ["POST"]}),
        ("/both/<int:n>", {"methods": ["GET"]}),
        ("/both/<int:n>", {"methods": ["PUT"], "endpoint": "both_put"}),
        ("/first/<int:n>", {}),
        ("/first/<name>", {"endpoint": "first_name"}),
        ("/shadow/<name>", {}),
        ("/shadow/<int:n>", {"endpoint": "shadow_int"}),
        ("/lit/<name>", {}),
        ("/lit/fixed", {"endpoint": "lit_fixed"}),
        ("/dir/", {"endpoint": "dir_literal"}),
        ("/dir/<name>", {"endpoint": "dir_name"}),
        ("/def/", {"defaults": {"n": 1}, "endpoint": "def_n"}),
        ("/def/<int:n>", {"endpoint": "def_n"}),
        ("/old/<int:n>", {"redirect_to": "/i/<n>", "endpoint": "old"}),
        ("/<int:year>/archive", {}),
        ("/<name>/profile", {}),
        ("/merge/<int:a>//<int:b>", {}),
        ("/user/<int:uid>/posts", {}),
    ]
    for index, (rule, options_) in enumerate(rules):
        endpoint = options_.pop("endpoint", f"r{index}")
        app.add_url_rule(rule, endpoint, _view, **options_)
    app.url_map.add(Rule("/raw/<int:n>", endpoint="raw"))
    app.url_map.add(Rule("/sub/<int:n>", endpoint="sub", subdomain="api"))
    return app


_UUID = "a8098c1a-f86e-11da-bd1a-00112444be1e"

_PATHS = [
    "/i/42",
    "/i/0",
    "/i/007",
    "/i/-1",
    "/i/4.5",
    "/i/x",
    "/i/" + "9" * 5000,
    "/i/42/",
    "/i/\u0663",
    "/f/1.5",
    "/f/01.50",
    "/f/1",
    "/f/-1.5",
    f"/u/{_UUID}",
    f"/u/{_UUID.upper()}",
    "/u/not-a-uuid",
    "/s/hello",
    "/s/h%C3%A9",
    "/s/caf\u00e9",
    "/s/",
    "/s2/a/3",
    "/s2/a/b",
    f"/mix/1/2.5/{_UUID}/d",
    "/mix/1/2/x/d",
    "/p/a/b/c",
    "/p/",
    "/any/red",
    "/any/green",
    "/min/4",
    "/min/5",
    "/max/9",
    "/max/10",
    "/signed/-3",
    "/signed/3",
    "/fixed/012",
    "/fixed/12",
    "/fsigned/-1.5",
    "/len/ab",
    "/len/abc",
    "/maxlen/abcd",
    "/maxlen/ab",
    "/upper/word",
    "/even/4",
    "/even/3",
    "/grouped/abab/7",
    "/slash/3",
    "/slash/3/",
    "/loose/3",
    "/loose/3/",
    "/loose-dir/3",
    "/loose-dir/3/",
    "/post/1",
    "/both/1",
    "/first/1",
    "/first/x",
    "/shadow/1",
    "/shadow/x",
    "/lit/fixed",
    "/lit/fixed/",
    "/lit/other",
    "/dir",
    "/dir/",
    "/dir/x",
    "/def/",
    "/def/1",
    "/def/2",
    "/old/3",
    "/2024/archive",
    "/x/archive",
    "/x/profile",
    "/3/profile",
    "/merge/1//2",
    "/merge/1/2",
    "/user/5/posts",
    "/user/5/posts/",
    "/user//5/posts",
    "/raw/5",
    "/sub/5",
    "/nothing/here",
    "user/5/posts",
    "i/42",
    "/",
    "",
]


@pytest.mark.parametrize("path", _PATHS)
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "HEAD", "OPTIONS"])
def test_converter_rules_agree_with_werkzeug(path: str, method: str) -> None:
    app = _converter_app()
    expected = _werkzeug(app, path, method)
    app._finish_setup()
    assert _phial(app, path, method) == expected


@pytest.mark.parametrize("path", ["/i/42", "/sub/5", "/s/x", "/nothing"])
def test_host_and_subdomain_matching_agree_with_werkzeug(path: str) -> None:
    app = _converter_app(subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.test"
    for host in ("example.test", "api.example.test"):
        expected = _werkzeug(app, path, "GET", host)
        app._finish_setup()
        assert _phial(app, path, "GET", host) == expected


def test_merge_slashes_off_agrees_with_werkzeug() -> None:
    app = Phial("merge", root_path=HERE)
    app.url_map.merge_slashes = False
    app.add_url_rule("/m/<int:a>/<int:b>", "m", _view)
    for path in ("/m/1/2", "/m/1//2", "/m//1/2"):
        expected = _werkzeug(app, path, "GET")
        app._finish_setup()
        assert _phial(app, path, "GET") == expected


def _known(app: Phial, path: str, method: str = "GET") -> object:
    ctx = app.request_context(_environ(path, method))
    assert app._routes.host_is_valid(ctx.request)  # a host seen before
    return app._routes.match_known(ctx.request)


def test_simple_converter_rules_are_claimed_without_werkzeug(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from werkzeug.routing import MapAdapter

    app = _converter_app()
    app._finish_setup()
    calls: list[t.Any] = []
    original = MapAdapter.match

    def spy(self: MapAdapter, *args: t.Any, **kwargs: t.Any) -> t.Any:
        calls.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(MapAdapter, "match", spy)
    for path in ("/i/42", f"/u/{_UUID}", "/s2/a/3", "/user/5/posts", "/min/7", "/upper/w"):
        assert _known(app, path) is MATCHED, path
    assert _phial(app, "/mix/1/2.5/" + _UUID + "/d", "GET")[0] == "r5"
    assert calls == []
    # Refused by a converter, a redirect, a 405, a path converter: Werkzeug decides.
    for path, method in (
        ("/even/3", "GET"),
        ("/slash/3", "GET"),
        ("/post/1", "GET"),
        ("/p/a", "GET"),
        ("/i/" + "9" * 5000, "GET"),
        ("i/42", "GET"),
    ):
        assert _known(app, path, method) is NO_LITERAL, path


def test_certain_404_from_converter_table(monkeypatch: pytest.MonkeyPatch) -> None:
    app = Phial("c404", root_path=HERE)
    app.add_url_rule("/a/<int:n>", "a", _view)
    app._finish_setup()
    ctx = app.request_context(_environ("/b/1", "GET"))
    assert app._routes.host_is_valid(ctx.request)  # a host seen before
    assert app._routes.match_known(ctx.request) is MATCHED
    assert type(ctx.request.routing_exception).__name__ == "NotFound"
    assert ctx.request.url_rule is None


def test_view_args_are_a_fresh_dict_each_time() -> None:
    app = Phial("fresh", root_path=HERE)
    app.add_url_rule("/s/<a>/<b>", "s", _view)
    app.add_url_rule("/i/<int:n>", "i", _view)
    app._finish_setup()
    for path in ("/s/x/y", "/i/1"):
        first = app.request_context(_environ(path, "GET"))
        second = app.request_context(_environ(path, "GET"))
        first.match_request()
        second.match_request()
        assert first.request.view_args == second.request.view_args
        assert first.request.view_args is not second.request.view_args


def test_table_disabled_later_forgets_converter_rules() -> None:
    app = Phial("later", root_path=HERE)
    app.add_url_rule("/a/<int:n>", "a", _view)
    app._finish_setup()
    assert app._routes._dynamic
    app.url_map.host_matching = True
    app._routes.compile()
    assert app._routes._dynamic == {}
    assert not app._routes._complete


# -- which conversions are inlined ----------------------------------------------------


def _converter(cls: type[BaseConverter], *args: t.Any, **kwargs: t.Any) -> BaseConverter:
    return cls(Map(), *args, **kwargs)


@pytest.mark.parametrize(
    ("converter", "function"),
    [
        (_converter(UnicodeConverter), None),
        (_converter(IntegerConverter), int),
        (_converter(FloatConverter), float),
        (_converter(UUIDConverter), uuid.UUID),
    ],
)
def test_default_builtin_converters_are_inlined(converter: t.Any, function: t.Any) -> None:
    assert _inline_conversion(converter) == (True, function)


@pytest.mark.parametrize(
    "converter",
    [
        _converter(UnicodeConverter, length=2),
        _converter(IntegerConverter, min=1),
        _converter(IntegerConverter, max=1),
        _converter(IntegerConverter, signed=True),
        _converter(IntegerConverter, fixed_digits=2),
        _converter(FloatConverter, signed=True),
        _converter(PathConverter),
        _converter(_Upper),
        _converter(_Even),
    ],
)
def test_other_converters_are_not_inlined(converter: t.Any) -> None:
    assert _inline_conversion(converter) == (False, None)


@pytest.mark.parametrize(
    ("cls", "text"),
    [
        (UnicodeConverter, "hello"),
        (IntegerConverter, "0"),
        (IntegerConverter, "0042"),
        (IntegerConverter, "123456789012345678901234567890"),
        (FloatConverter, "1.5"),
        (FloatConverter, "0001.2500"),
        (UUIDConverter, _UUID),
        (UUIDConverter, _UUID.upper()),
    ],
)
def test_inlined_conversion_equals_to_python(cls: type[BaseConverter], text: str) -> None:
    converter = _converter(cls)
    inline, function = _inline_conversion(converter)
    assert inline
    value = text if function is None else function(text)
    expected = converter.to_python(text)
    assert (type(value), value) == (type(expected), expected)


def test_view_args_maker_shapes() -> None:
    import re

    converters = {"a": _converter(UnicodeConverter), "b": _converter(UnicodeConverter)}
    text_only = _view_args_maker(re.compile(r"/(?P<a>[^/]+)/(?P<b>[^/]+)"), converters)
    match = re.fullmatch(r"/(?P<a>[^/]+)/(?P<b>[^/]+)", "/x/y")
    assert match is not None and text_only(match) == {"a": "x", "b": "y"}

    regex = re.compile(r"/(?P<n>\d+)")
    one = _view_args_maker(regex, {"n": _converter(IntegerConverter)})
    match = regex.fullmatch("/12")
    assert match is not None and one(match) == {"n": 12}

    regex = re.compile(r"/(?P<w>[^/]+)/(?P<n>\d+)")
    many = _view_args_maker(regex, {"w": _converter(_Upper), "n": _converter(IntegerConverter)})
    match = regex.fullmatch("/ab/3")
    assert match is not None and many(match) == {"w": "AB", "n": 3}

    # A converter's own capture group comes first: names are used, not positions.
    regex = re.compile(r"/(?P<g>(a|b)+)/(?P<n>\d+)")
    grouped = _view_args_maker(
        regex, {"g": _converter(_Grouped), "n": _converter(IntegerConverter)}
    )
    match = regex.fullmatch("/abab/4")
    assert match is not None and grouped(match) == {"g": "abab", "n": 4}


def _random_paths(count: int) -> list[str]:
    import random

    rng = random.Random(20261124)
    words = ["i", "f", "u", "s", "s2", "mix", "p", "min", "even", "slash", "loose", "loose-dir"]
    words += ["post", "both", "first", "shadow", "lit", "dir", "def", "old", "user", "posts"]
    words += ["archive", "profile", "fixed", "42", "007", "1.5", "x", "", _UUID, "-3", "ab"]
    paths = []
    for _ in range(count):
        segments = [rng.choice(words) for _ in range(rng.randint(1, 4))]
        paths.append("/" + "/".join(segments) + rng.choice(["", "", "/"]))
    return paths


def test_random_paths_agree_with_werkzeug() -> None:
    app = _converter_app()
    paths = _random_paths(400)
    methods = ["GET", "POST", "PUT"]
    expected = [_werkzeug(app, path, method) for path in paths for method in methods]
    app._finish_setup()
    assert [_phial(app, path, method) for path in paths for method in methods] == expected


def test_decoy_rules_agree_with_werkzeug() -> None:
    # The benchmark's shape: converter rules whose first segments differ.
    app = Phial("decoys", root_path=HERE)
    for i in range(20):
        app.add_url_rule(f"/decoy{i}/<int:id>", f"decoy{i}", _view)
    app.add_url_rule("/users/<int:user_id>/posts", "user_posts", _view)
    app.add_url_rule("/plaintext", "plaintext", _view)
    paths = ["/users/42/posts", "/users/42/posts/", "/users/x/posts", "/decoy3/5"]
    paths += ["/decoy3/5/", "/decoy20/5", "/users/42", "/plaintext/", "/plaintext"]
    expected = [_werkzeug(app, path, "GET") for path in paths]
    app._finish_setup()
    assert [_phial(app, path, "GET") for path in paths] == expected
    assert _known(app, "/users/42/posts") is MATCHED


def _lone_rules_app() -> Phial:
    """Each converter rule alone under its first segment (no wildcard rule):
    the matcher's one-rule shortcut, and every way it must step aside."""
    app = Phial("lone", root_path=HERE)
    app.url_map.converters["upper"] = _Upper
    app.url_map.converters["even"] = _Even
    app.add_url_rule("/i/<int:n>", "i", _view)
    app.add_url_rule("/f/<float:x>", "f", _view)
    app.add_url_rule("/u/<uuid:u>", "u", _view)
    app.add_url_rule("/s/<name>", "s", _view)
    app.add_url_rule("/two/<int:a>/<int:b>", "two", _view)
    app.add_url_rule("/upper/<upper:w>", "upper", _view)
    app.add_url_rule("/even/<even:n>", "even", _view)
    app.add_url_rule("/min/<int(min=5):n>", "min", _view)
    app.add_url_rule("/slash/<int:n>/", "slash", _view)
    app.add_url_rule("/loose/<int:n>", "loose", _view, strict_slashes=False)
    app.add_url_rule("/def/", "def", _view, defaults={"n": 1})
    app.add_url_rule("/def/<int:n>", "def", _view)
    app.add_url_rule("/post/<int:n>", "post", _view, methods=["POST"])
    return app


_LONE_PATHS = [
    "/i/42",
    "/i/x",
    "/i/42/",
    "/i/" + "9" * 5000,
    "/f/1.5",
    "/f/1",
    f"/u/{_UUID}",
    "/u/x",
    "/s/hello",
    "/s/caf\u00e9",
    "/two/1/2",
    "/two/1",
    "/upper/word",
    "/even/4",
    "/even/3",
    "/min/4",
    "/min/7",
    "/slash/3",
    "/slash/3/",
    "/loose/3",
    "/loose/3/",
    "/def/1",
    "/def/",
    "/post/1",
    "/none/1",
]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_lone_rules_agree_with_werkzeug(method: str) -> None:
    app = _lone_rules_app()
    expected = [_werkzeug(app, path, method) for path in _LONE_PATHS]
    app._finish_setup()
    assert all(len(entries) == 1 for entries in app._routes._dynamic.values())
    assert [_phial(app, path, method) for path in _LONE_PATHS] == expected


def test_one_inline_argument_is_converted_without_the_maker() -> None:
    app = _lone_rules_app()
    app._finish_setup()
    shortcut = {
        key: (entries[0].name, entries[0].to_python)
        for key, entries in app._routes._dynamic.items()
    }
    assert shortcut["i"] == ("n", int)
    assert shortcut["f"] == ("x", float)
    assert shortcut["u"] == ("u", uuid.UUID)
    assert shortcut["s"] == ("name", str)
    # Two arguments, a custom converter, a converter with arguments: the maker.
    for key in ("two", "upper", "even", "min"):
        assert shortcut[key][0] is None, key
    for path, expected in (("/i/7", {"n": 7}), ("/s/x", {"name": "x"}), ("/two/1/2", None)):
        ctx = app.request_context(_environ(path, "GET"))
        assert app._routes.host_is_valid(ctx.request)
        assert app._routes.match_known(ctx.request) is MATCHED
        if expected is not None:
            assert ctx.request.view_args == expected
            assert type(next(iter(ctx.request.view_args.values()))) is type(
                next(iter(expected.values()))
            )


def test_literal_paths_beside_a_lone_rule_agree_with_werkzeug() -> None:
    # Each rule alone under its first segment, next to literal rules whose
    # paths (or slash forms) the rule's regex matches, or does not.
    app = Phial("overlap", root_path=HERE)
    app.add_url_rule("/d/<name>", "d", _view)
    app.add_url_rule("/d/x/", "d_x", _view)
    app.add_url_rule("/e/<name>", "e", _view, strict_slashes=False)
    app.add_url_rule("/e/y", "e_y", _view)
    app.add_url_rule("/n/<int:n>", "n", _view)
    app.add_url_rule("/n/all", "n_all", _view)
    app.add_url_rule("/<name>/z", "wild", _view)
    paths = ["/d/x", "/d/x/", "/d/y", "/e/y", "/e/y/", "/e/w/", "/n/1", "/n/all", "/n/all/"]
    paths += ["/q/z", "/d/z", "/n/z"]
    expected = [_werkzeug(app, path, "GET") for path in paths]
    app._finish_setup()
    assert [_phial(app, path, "GET") for path in paths] == expected
    overlap = {
        entry.rule.endpoint: entry.literal_overlap
        for entries in app._routes._dynamic.values()
        for entry in entries
    }
    assert overlap == {"d": True, "e": True, "n": False, "wild": True, "static": False}


def test_lone_rule_after_literal_paths_defers_to_werkzeug() -> None:
    app = Phial("overlap2", root_path=HERE)
    app.add_url_rule("/d/<name>", "d", _view)
    app.add_url_rule("/d/x/", "d_x", _view)
    app._finish_setup()
    # "/d/x" is the slash-less form of a literal rule: Werkzeug decides.
    assert _known(app, "/d/x") is NO_LITERAL
    assert _known(app, "/d/y") is MATCHED
