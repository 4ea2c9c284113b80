"""Request bodies are refused by their size before they are read.

Left alone, the stack reads first and judges afterwards: DRF's `JSONParser` (and our text
brief parser) read the whole stream whatever `DATA_UPLOAD_MAX_MEMORY_SIZE` says, and a
multipart upload is spooled to disk in full before a view can see that the file is too
large. `BodyLimitMiddleware` answers `413 {"error", "code": "payload_too_large"}` first:

* a declared body (`Content-Length`) longer than the view's limit is refused without a byte
  of it being read;
* a chunked body (no `Content-Length`; gunicorn hands it over de-chunked) is read through a
  counter and refused as soon as it passes the limit. One within the limit is kept (in a
  spooled temporary file) and handed to the view as a body of known length, which Django
  would otherwise read as empty. A server that cannot de-chunk (Django's `runserver`)
  gets `411 length_required` instead of a silently empty body.

The limit is `DATA_UPLOAD_MAX_MEMORY_SIZE` for every view, or the view's own: a class
attribute `max_body_bytes` (thread messages take 25 MB attachments), or `@max_body_bytes(n)`
on a function view. `None` there means the default.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, JsonResponse

from the402.lib.errors import error_body

# Room for a multipart body's boundaries, part headers and small form fields around a file
# of the view's largest size.
MULTIPART_OVERHEAD = 128 * 1024
_READ_SIZE = 64 * 1024

V = TypeVar("V")


def max_body_bytes(limit: int) -> Callable[[V], V]:
    """Give a view (class or function) its own body limit, in bytes."""

    def mark(view: V) -> V:
        view.max_body_bytes = limit  # type: ignore[attr-defined]
        return view

    return mark


def view_body_limit(view_func: Callable[..., Any]) -> int | None:
    """The most bytes a request body to this view may have (None: no limit at all)."""
    view_class = getattr(view_func, "view_class", None) or getattr(view_func, "cls", None)
    for holder in (view_class, view_func):
        limit = getattr(holder, "max_body_bytes", None)
        if limit is not None:
            return int(limit)
    default = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return None if default is None else int(default)


def too_large(limit: int) -> JsonResponse:
    return JsonResponse(
        error_body(
            f"The request body is larger than this endpoint accepts ({limit} bytes)",
            "payload_too_large",
            max_bytes=limit,
        ),
        status=413,
    )


def _length_required() -> JsonResponse:
    return JsonResponse(
        error_body(
            "Send the body with a Content-Length (this server cannot read chunked bodies)",
            "length_required",
        ),
        status=411,
    )


def _declared_length(request: HttpRequest) -> int | None:
    raw = request.META.get("CONTENT_LENGTH")
    if raw in (None, ""):
        return None
    text = str(raw).strip()
    # Django reads a malformed length as 0 (no body); so do we.
    return int(text) if text.isascii() and text.isdigit() else 0


def _read_chunked(request: HttpRequest, limit: int) -> HttpResponse | None:
    """Read a de-chunked body through a counter: 413 past `limit`, else hand it on."""
    stream = request.META.get("wsgi.input")
    if stream is None or not request.META.get("wsgi.input_terminated"):
        return _length_required()
    spool = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)
    size = 0
    while True:
        chunk = stream.read(min(_READ_SIZE, limit + 1 - size))
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            spool.close()
            return too_large(limit)
        spool.write(chunk)
    spool.seek(0)
    # The body now has a known length: Django and DRF read it as if it had been declared.
    request.META["CONTENT_LENGTH"] = str(size)
    # The stubs want a BytesIO and a BinaryIO; LimitedStream reads any binary file.
    request._stream = LimitedStream(spool, size)  # type: ignore[arg-type, assignment]
    request._body_spool = spool  # type: ignore[attr-defined]  # closed with the request
    return None


class BodyLimitMiddleware:
    """Refuse over-limit request bodies before any parser reads them (see the module)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            spool = getattr(request, "_body_spool", None)
            if spool is not None:
                spool.close()

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponse | None:
        limit = view_body_limit(view_func)
        if limit is None:
            return None
        declared = _declared_length(request)
        if declared is not None:
            return too_large(limit) if declared > limit else None
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return _read_chunked(request, limit)
        return None
