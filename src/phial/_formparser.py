"""Form parsing with phial's limits: Werkzeug's parser, held to two more rules.

- ``MAX_FORM_MEMORY_SIZE`` also bounds a urlencoded body (Werkzeug applies it
  to multipart fields only): all of such a body is held in memory.
- A multipart part's name comes from its ``name=`` parameter only. Werkzeug
  lets an RFC 2231 ``name*=`` parameter replace it, so a part could present
  one name to a proxy or WAF that reads ``name=`` and another to the app.

Multipart bodies are decoded by Werkzeug's sans-IO
:class:`~werkzeug.sansio.multipart.MultipartDecoder` (linear in the input,
with the memory and part limits), fed in fixed-size chunks.
"""

from __future__ import annotations

import io
import re
import typing as t

from werkzeug.datastructures import FileStorage, Headers, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser as _BaseParser
from werkzeug.formparser import MultiPartParser
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

if t.TYPE_CHECKING:
    from werkzeug.formparser import t_parse_result

#: How much of the body is read at a time.
_CHUNK = 64 * 1024

#: One ``; key=value`` parameter of a header; the value may be a quoted string.
_PARAM = re.compile(r';\s*([^\s;=]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;]*))?')


def _plain_name(disposition: str) -> str | None:
    """The ``name=`` parameter of a ``Content-Disposition`` value; an RFC 2231
    ``name*=`` never replaces it."""
    head, sep, rest = disposition.partition(";")
    kept = [head]
    if sep:
        for m in _PARAM.finditer(";" + rest):
            if m.group(1).lower() != "name*":
                kept.append(m.group(0))
    _, options = parse_options_header("".join(kept))
    return options.get("name")


def _read_up_to(stream: t.IO[bytes], size: int) -> bytes:
    """``size`` bytes, or fewer at the end of ``stream``; raw streams (like
    Werkzeug's limited stream) may return less than asked before the end."""
    chunks: list[bytes] = []
    while size > 0:
        chunk = stream.read(min(size, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _partial_suffix(data: bytes, delimiters: tuple[bytes, ...]) -> int:
    """Where the longest end of ``data`` that begins one of ``delimiters``
    (without being all of it) starts; ``len(data)`` if there is none."""
    longest = max(len(delimiter) for delimiter in delimiters)
    for start in range(max(0, len(data) - longest + 1), len(data)):
        tail = data[start:]
        if any(d.startswith(tail) and d != tail for d in delimiters):
            return start
    return len(data)


class FormDataParser(_BaseParser):
    """Werkzeug's :class:`~werkzeug.formparser.FormDataParser` with phial's two
    extra rules (see the module docstring)."""

    def parse(
        self,
        stream: t.IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str] | None = None,
    ) -> t_parse_result:
        """Parse ``stream`` as ``mimetype``; other types give empty dicts."""
        if (
            self.max_content_length is not None
            and content_length is not None
            and content_length > self.max_content_length
        ):
            raise RequestEntityTooLarge()
        if mimetype == "application/x-www-form-urlencoded":
            limit = self.max_form_memory_size
            if limit is not None:
                if content_length is not None and content_length > limit:
                    raise RequestEntityTooLarge()
                # Read one byte past the limit to tell "at" from "over" it.
                data = _read_up_to(stream, limit + 1)
                if len(data) > limit:
                    raise RequestEntityTooLarge()
                return super().parse(io.BytesIO(data), mimetype, len(data), options)
        elif mimetype == "multipart/form-data":
            try:
                form, files = self._parse_multipart_parts(stream, content_length, options or {})
            except ValueError:
                if not self.silent:
                    raise
                form, files = self.cls(), self.cls()
            return stream, form, files
        return super().parse(stream, mimetype, content_length, options)

    def _parse_multipart_parts(
        self, stream: t.IO[bytes], content_length: int | None, options: dict[str, str]
    ) -> tuple[MultiDict[str, t.Any], MultiDict[str, t.Any]]:
        boundary = options.get("boundary", "").encode("latin1")
        if not boundary or len(boundary) > 200:
            raise ValueError("Invalid form-data boundary.")
        # Used for its public hooks only: file containers and part charsets.
        helper = MultiPartParser(
            self.stream_factory,
            self.max_form_memory_size,
            self.cls,
            max_form_parts=self.max_form_parts,
        )
        decoder = MultipartDecoder(
            boundary, self.max_form_memory_size, max_parts=self.max_form_parts
        )
        fields: list[tuple[str, t.Any]] = []
        files: list[tuple[str, FileStorage]] = []
        name: str | None = None
        headers: Headers | None = None
        container: t.IO[bytes] | None = None
        filename: str | None = None
        chunks: list[bytes] = []
        size = 0
        limit = self.max_form_memory_size
        done = False
        delimiters = (b"\r\n--" + boundary + b"\r\n", b"\r\n--" + boundary + b"--")
        held = b""
        while not done:
            data = _read_up_to(stream, _CHUNK)
            if data:
                # Werkzeug's decoder can take the start of a delimiter at the
                # end of a chunk for part data (a chunk ending in "\r\n--B-"
                # gave the part a trailing "\r"); keep such a tail for the
                # next chunk so the decoder sees each delimiter whole.
                data = held + data
                cut = _partial_suffix(data, delimiters)
                data, held = data[:cut], data[cut:]
                if not data:
                    continue
                decoder.receive_data(data)
            else:
                if held:
                    decoder.receive_data(held)
                    held = b""
                decoder.receive_data(None)
            event = decoder.next_event()
            while not isinstance(event, NeedData):
                if isinstance(event, Field):
                    name = _plain_name(event.headers.get("content-disposition", ""))
                    headers, container, chunks, size = event.headers, None, [], 0
                elif isinstance(event, File):
                    name = _plain_name(event.headers.get("content-disposition", ""))
                    headers, filename = event.headers, event.filename
                    container = helper.start_file_streaming(event, content_length)
                elif isinstance(event, Data):
                    if container is not None:
                        container.write(event.data)
                    else:
                        size += len(event.data)
                        if limit is not None and size > limit:
                            raise RequestEntityTooLarge()
                        chunks.append(event.data)
                    if not event.more_data:
                        if container is not None:
                            container.seek(0)
                            storage = FileStorage(container, filename, name, headers=headers)
                            files.append((name or "", storage))
                        elif headers is not None:
                            charset = helper.get_part_charset(headers)
                            value = b"".join(chunks).decode(charset, "replace")
                            fields.append((name or "", value))
                        container, headers = None, None
                elif isinstance(event, Epilogue):
                    done = True
                    break
                event = decoder.next_event()
            if not data and not done:
                raise ValueError("The multipart body ended early.")
        return self.cls(fields), self.cls(files)
