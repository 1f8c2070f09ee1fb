"""Tagged JSON: a compact way to store non-JSON types in JSON, used by sessions.

Values JSON cannot represent are wrapped in a one-key object whose key is a
*tag*, for example ``{" t": [1, 2]}`` for the tuple ``(1, 2)``. Tag keys start
with a space so they rarely collide with real data. The format is the same as
Flask's, byte for byte, so a session cookie written by either framework can be
read by the other.

The built-in tags, in the order they are tried:

======= ======================== ==========================================
key     type                     stored as
======= ======================== ==========================================
``di``  dict with one tag key    the dict, with ``__`` added to that key
(none)  dict                     an object whose values are tagged
``t``   tuple                    a list of tagged items
(none)  list                     a list of tagged items
``b``   bytes                    base64 text
``m``   objects with ``__html__`` the ``__html__()`` text; loads as ``Markup``
``u``   :class:`uuid.UUID`       its hex digits
``d``   :class:`datetime.datetime` an HTTP date; loads as an aware UTC datetime
======= ======================== ==========================================

(Each key above has a leading space: ``" di"``, ``" t"`` and so on.)

Add a type by subclassing :class:`JSONTag` and registering it::

    class TagOrderedDict(JSONTag):
        key = " od"

        def check(self, value):
            return isinstance(value, OrderedDict)

        def to_json(self, value):
            return [[k, self.serializer.tag(v)] for k, v in value.items()]

        def to_python(self, value):
            return OrderedDict(value)

    app.session_interface.serializer.register(TagOrderedDict, index=0)
"""

from __future__ import annotations

import json as _json
import typing as t
from base64 import b64decode, b64encode
from datetime import datetime
from uuid import UUID

from markupsafe import Markup
from werkzeug.http import http_date, parse_date

from . import _current_provider, dumps
from .provider import DefaultJSONProvider

__all__ = [
    "JSONTag",
    "PassDict",
    "PassList",
    "TagBytes",
    "TagDateTime",
    "TagDict",
    "TagMarkup",
    "TagTuple",
    "TagUUID",
    "TaggedJSONSerializer",
]


class JSONTag:
    """Base class for one tag of :class:`TaggedJSONSerializer`.

    A subclass sets :attr:`key` and implements :meth:`check`, :meth:`to_json` and
    :meth:`to_python`.

    :param serializer: The serializer this tag belongs to; use it to tag values
        nested inside the one being converted.
    """

    __slots__ = ("serializer",)

    key: str = ""
    """The tag's key in the JSON output. An empty key marks a pass-through tag:
    its output is not wrapped, and it is never looked up when loading."""

    def __init__(self, serializer: TaggedJSONSerializer) -> None:
        self.serializer = serializer

    def check(self, value: t.Any) -> bool:
        """Whether this tag should handle ``value``."""
        raise NotImplementedError

    def to_json(self, value: t.Any) -> t.Any:
        """Convert ``value`` to something JSON can hold (without the tag key)."""
        raise NotImplementedError

    def to_python(self, value: t.Any) -> t.Any:
        """Convert the JSON form back into the Python value."""
        raise NotImplementedError

    def tag(self, value: t.Any) -> t.Any:
        """Convert ``value`` and wrap it as ``{key: converted}``."""
        return {self.key: self.to_json(value)}


class TagDict(JSONTag):
    """Tag a dict whose only key is itself a registered tag key.

    Without this, such a dict would be mistaken for a tagged value when loading. The
    key is stored with ``__`` appended and the suffix is removed on load.
    """

    __slots__ = ()
    key = " di"

    def check(self, value: t.Any) -> bool:
        """Whether ``value`` is a one-key dict whose key is a tag key."""
        return (
            isinstance(value, dict)
            and len(value) == 1
            and next(iter(value)) in self.serializer.tags
        )

    def to_json(self, value: t.Any) -> t.Any:
        """Rename the key to ``key + "__"`` and tag its value."""
        ((key, item),) = value.items()
        return {f"{key}__": self.serializer.tag(item)}

    def to_python(self, value: t.Any) -> t.Any:
        """Strip the ``__`` suffix from the key."""
        ((key, item),) = value.items()
        return {key[:-2]: item}


class PassDict(JSONTag):
    """Pass dicts through, tagging each of their values."""

    __slots__ = ()

    def check(self, value: t.Any) -> bool:
        """Whether ``value`` is a dict."""
        return isinstance(value, dict)

    def to_json(self, value: t.Any) -> t.Any:
        """Tag every value; keys are left to JSON."""
        # Keys stay as they are; JSON object keys must be strings anyway.
        tag = self.serializer.tag
        return {k: tag(v) for k, v in value.items()}

    # A pass-through tag adds no wrapper.
    tag = to_json


class TagTuple(JSONTag):
    """Store a tuple as a list of tagged items, and load it back as a tuple."""

    __slots__ = ()
    key = " t"

    def check(self, value: t.Any) -> bool:
        """Whether ``value`` is a tuple."""
        return isinstance(value, tuple)

    def to_json(self, value: t.Any) -> t.Any:
        """Tag each item into a list."""
        tag = self.serializer.tag
        return [tag(item) for item in value]

    def to_python(self, value: t.Any) -> t.Any:
        """Rebuild the tuple."""
        return tuple(value)


class PassList(JSONTag):
    """Pass lists through, tagging each item."""

    __slots__ = ()

    def check(self, value: t.Any) -> bool:
        """Whether ``value`` is a list."""
        return isinstance(value, list)

    def to_json(self, value: t.Any) -> t.Any:
        """Tag each item."""
        tag = self.serializer.tag
        return [tag(item) for item in value]

    # A pass-through tag adds no wrapper.
    tag = to_json


class TagBytes(JSONTag):
    """Store bytes as standard base64 text."""

    __slots__ = ()
    key = " b"

    def check(self, value: t.Any) -> bool:
        """Whether ``value`` is bytes."""
        return isinstance(value, bytes)

    def to_json(self, value: t.Any) -> t.Any:
        """Encode to base64 text."""
        return b64encode(value).decode("ascii")

    def to_python(self, value: t.Any) -> t.Any:
        """Decode the base64 text."""
        return b64decode(value)


class TagMarkup(JSONTag):
    """Store objects with an ``__html__`` method as their HTML text, and load them
    as :class:`~markupsafe.Markup`."""

    __slots__ = ()
    key = " m"

    def check(self, value: t.Any) -> bool:
        """Whether ``value`` has a callable ``__html__``."""
        return callable(getattr(value, "__html__", None))

    def to_json(self, value: t.Any) -> t.Any:
        """The text of ``value.__html__()``."""
        return str(value.__html__())

    def to_python(self, value: t.Any) -> t.Any:
        """Mark the text as safe HTML again."""
        return Markup(value)


class TagUUID(JSONTag):
    """Store a :class:`~uuid.UUID` as its 32 hex digits."""

    __slots__ = ()
    key = " u"

    def check(self, value: t.Any) -> bool:
        """Whether ``value`` is a UUID."""
        return isinstance(value, UUID)

    def to_json(self, value: t.Any) -> t.Any:
        """The hex digits, without dashes."""
        return value.hex

    def to_python(self, value: t.Any) -> t.Any:
        """Parse the hex digits."""
        return UUID(value)


class TagDateTime(JSONTag):
    """Store a :class:`~datetime.datetime` as an HTTP date (RFC 822, UTC).

    The format has one-second precision: microseconds are dropped, and the value
    loads as an aware datetime in UTC (a naive one is taken to be UTC).
    """

    __slots__ = ()
    key = " d"

    def check(self, value: t.Any) -> bool:
        """Whether ``value`` is a datetime."""
        return isinstance(value, datetime)

    def to_json(self, value: t.Any) -> t.Any:
        """Format as an HTTP date."""
        return http_date(value)

    def to_python(self, value: t.Any) -> t.Any:
        """Parse the HTTP date."""
        return parse_date(value)


#: The built-in tag classes, in their default order.
_BUILTIN_TAGS: tuple[type[JSONTag], ...] = (
    TagDict,
    PassDict,
    TagTuple,
    PassList,
    TagBytes,
    TagMarkup,
    TagUUID,
    TagDateTime,
)


class TaggedJSONSerializer:
    """Serialize data that JSON cannot hold on its own, by tagging it.

    Handles dicts, tuples, lists, bytes, :class:`~markupsafe.Markup` (and any
    ``__html__`` object), :class:`~uuid.UUID` and :class:`~datetime.datetime` in
    addition to JSON's own types. This is the serializer behind the session
    cookie.
    """

    __slots__ = ("_encoders", "_plain_order", "_plain_tags", "order", "tags")

    default_tags: t.ClassVar[list[type[JSONTag]]] = list(_BUILTIN_TAGS)
    """Tag classes registered on every new serializer, in the order they are
    tried. :class:`TagDict` comes first so that it sees dicts before
    :class:`PassDict` does."""

    def __init__(self) -> None:
        #: Registered tags by key, for loading.
        self.tags: dict[str, JSONTag] = {}
        #: All registered tags in the order :meth:`tag` tries them.
        self.order: list[JSONTag] = []
        for cls in self.default_tags:
            self.register(cls)
        # The built-in tags leave JSON's own types alone, so data made only of
        # those needs no tagging pass (see _is_plain). Remember them to notice
        # when tags are registered or replaced later.
        self._plain_order: list[JSONTag] | None = None
        self._plain_tags: dict[str, JSONTag] | None = None
        if tuple(type(tag) for tag in self.order) == _BUILTIN_TAGS:
            self._plain_order = list(self.order)
            self._plain_tags = dict(self.tags)
        #: Compact encoders of the default JSON provider, by its settings.
        self._encoders: dict[tuple[t.Any, ...], _json.JSONEncoder] = {}

    def register(
        self, tag_class: type[JSONTag], force: bool = False, index: int | None = None
    ) -> None:
        """Register a new tag with this serializer.

        :param tag_class: The tag class; it is instantiated with this serializer.
        :param force: Replace a tag already registered under the same key. The old
            tag stays in the trying order but can no longer be loaded.
        :param index: Where to insert the tag in the trying order; the end by
            default. Tags that match broadly (such as a dict subclass) must come
            before the built-in dict tags to be seen at all.
        :raises KeyError: If the key is already registered and ``force`` is false.
        """
        tag = tag_class(self)
        key = tag.key
        # Pass-through tags (empty key) are never looked up on load, so only keyed
        # tags go into the lookup table.
        if key:
            if key in self.tags and not force:
                raise KeyError(f"Tag '{key}' is already registered.")
            self.tags[key] = tag
        if index is None:
            self.order.append(tag)
        else:
            self.order.insert(index, tag)

    def tag(self, value: t.Any) -> t.Any:
        """Convert ``value`` to a JSON-ready structure, tagging where needed.

        The first tag whose :meth:`~JSONTag.check` accepts the value handles it;
        values no tag accepts are returned unchanged.
        """
        for tag in self.order:
            if tag.check(value):
                return tag.tag(value)
        return value

    def untag(self, value: dict[str, t.Any]) -> t.Any:
        """Convert one tagged dict back to its Python value.

        A dict that is not exactly one registered tag key is returned unchanged.
        Nested values are not visited; :meth:`loads` handles those.
        """
        if len(value) != 1:
            return value
        key = next(iter(value))
        tag = self.tags.get(key)
        if tag is None:
            return value
        return tag.to_python(value[key])

    def _untag_scan(self, value: t.Any) -> t.Any:
        """Untag ``value`` depth-first, so inner tags are resolved before outer ones
        see their contents."""
        if isinstance(value, dict):
            return self.untag({k: self._untag_scan(v) for k, v in value.items()})
        if isinstance(value, list):
            return [self._untag_scan(item) for item in value]
        return value

    def dumps(self, value: t.Any) -> str:
        """Tag ``value`` and serialize it to compact JSON.

        Serialization goes through :func:`phial.json.dumps`, so it uses the current
        app's JSON provider when one is active.
        """
        if not self._tags_plain_data() or not _is_plain(value, self.tags):
            value = self.tag(value)
        provider = _current_provider()
        if provider is None or type(provider).dumps is not DefaultJSONProvider.dumps:
            return dumps(value, separators=(",", ":"))
        # What DefaultJSONProvider.dumps does, without building an encoder per call.
        provider = t.cast(DefaultJSONProvider, provider)
        default = provider.default
        ensure_ascii = provider.ensure_ascii
        sort_keys = provider.sort_keys
        key = (default, ensure_ascii, sort_keys)
        encoder = self._encoders.get(key)
        if encoder is None:
            if len(self._encoders) >= 8:  # settings keep changing: do not grow forever
                self._encoders.clear()
            encoder = self._encoders[key] = _json.JSONEncoder(
                default=default,
                ensure_ascii=ensure_ascii,
                sort_keys=sort_keys,
                separators=(",", ":"),
            )
        return encoder.encode(value)

    def loads(self, value: str | bytes) -> t.Any:
        """Parse JSON written by :meth:`dumps` and untag it."""
        provider = _current_provider()
        if provider is not None and type(provider).loads is not DefaultJSONProvider.loads:
            return self._untag_scan(provider.loads(value))
        data = _loads(value)
        if type(self) is TaggedJSONSerializer and not _has_tag(data, self.tags):
            # Untagging would rebuild the same dicts and lists (json makes no others).
            return data
        return self._untag_scan(data)

    def _tags_plain_data(self) -> bool:
        """Whether :meth:`tag` leaves JSON's own types unchanged: only the built-in
        tags are registered (a registered tag may claim any value) and the
        tagging methods are not overridden."""
        return (
            type(self) is TaggedJSONSerializer
            and self.order == self._plain_order
            and self.tags == self._plain_tags
        )


_DECODER = _json.JSONDecoder()


def _loads(text: str | bytes) -> t.Any:
    """:func:`json.loads` without options. For text that is exactly one JSON
    value, without surrounding whitespace, the decoder's ``raw_decode`` gives
    the same result and skips the two whitespace scans; anything else goes to
    :func:`json.loads`, which parses it or raises its usual error."""
    if type(text) is str:
        try:
            data, end = _DECODER.raw_decode(text)
        except ValueError:
            return _json.loads(text)
        if end == len(text):
            return data
    return _json.loads(text)


#: The types that the built-in tags pass through unchanged, when not nested.
_PLAIN_SCALARS = frozenset({str, int, float, bool, type(None)})


def _is_plain(value: t.Any, tags: dict[str, JSONTag]) -> bool:
    """Whether the built-in tags would leave ``value`` as it is: JSON's own
    scalars, and lists and dicts of them, with no dict whose one key is a tag
    key. Exact types only: a subclass (``Markup`` is a ``str``) may be tagged."""
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return True
    if kind is dict:
        if len(value) == 1 and next(iter(value)) in tags:
            return False  # TagDict renames the key
        for item in value.values():
            if type(item) not in _PLAIN_SCALARS and not _is_plain(item, tags):
                return False
        return True
    if kind is list:
        for item in value:
            if type(item) not in _PLAIN_SCALARS and not _is_plain(item, tags):
                return False
        return True
    return False


def _has_tag(value: t.Any, tags: dict[str, JSONTag]) -> bool:
    """Whether parsed JSON holds anything :meth:`TaggedJSONSerializer.untag`
    would convert: a dict whose one key is a registered tag key."""
    kind = type(value)
    if kind is dict:
        if len(value) == 1 and next(iter(value)) in tags:
            return True
        for item in value.values():
            if (type(item) is dict or type(item) is list) and _has_tag(item, tags):
                return True
        return False
    if kind is list:
        for item in value:
            if (type(item) is dict or type(item) is list) and _has_tag(item, tags):
                return True
    return False
