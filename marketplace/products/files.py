"""Product files: stored through Django's storage API (`STORAGES["products"]`, a location
no URL serves), their content type sniffed from their first bytes, and served in ranges.

Types a browser could run (HTML, SVG, scripts) are never served as themselves: a download
carries its sniffed type only when it is in `SAFE_TYPES`, else `application/octet-stream`,
always as an attachment with `X-Content-Type-Options: nosniff`.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from django.core.files.base import File
from django.core.files.storage import Storage, storages

CHUNK = 64 * 1024
SNIFF_BYTES = 8192
SAFE_TYPES = frozenset(
    {
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/x-tar",
        "application/json",
        "image/png",
        "image/jpeg",
        "image/gif",
        "text/plain",
        "text/csv",
        "text/markdown",
    }
)
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\x1f\x8b", "application/gzip"),
)
_MARKUP = re.compile(rb"^\s*<(!doctype|html|head|body|script|svg|\?xml|iframe)", re.IGNORECASE)


def product_storage() -> Storage:
    return storages["products"]


def sniff(head: bytes, filename: str) -> str:
    """The content type of a file from its first bytes (the name only tells text kinds
    apart)."""
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    if len(head) > 262 and head[257:262] == b"ustar":
        return "application/x-tar"
    if _MARKUP.match(head):
        return "text/html"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multibyte character cut at the sniffed length is still text.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return "application/octet-stream"
    if "\x00" in text:
        return "application/octet-stream"
    name = filename.lower()
    stripped = text.lstrip()
    if stripped[:1] in ("{", "[") and len(head) < SNIFF_BYTES:
        try:
            json.loads(text)
            return "application/json"
        except ValueError:
            pass
    if name.endswith(".json") and stripped[:1] in ("{", "["):
        return "application/json"
    if name.endswith(".csv"):
        return "text/csv"
    if name.endswith((".md", ".markdown")):
        return "text/markdown"
    return "text/plain"


def served_type(content_type: str) -> str:
    if content_type not in SAFE_TYPES:
        return "application/octet-stream"
    if content_type.startswith("text/"):
        return f"{content_type}; charset=utf-8"
    return content_type


@dataclass(frozen=True)
class Stored:
    key: str
    size: int
    content_type: str
    sha256: str


def file_store(product_public_id: str, upload: File, filename: str) -> Stored:
    """Store an upload (read in chunks, never whole) under a name of ours."""
    digest = hashlib.sha256()
    head = b""
    size = 0
    for chunk in upload.chunks(CHUNK):
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        digest.update(chunk)
        size += len(chunk)
    upload.seek(0)
    key = product_storage().save(f"{product_public_id}/{secrets.token_hex(12)}", upload)
    return Stored(key, size, sniff(head, filename), digest.hexdigest())


def file_delete(key: str) -> None:
    if key:
        product_storage().delete(key)


def file_chunks(key: str, start: int, length: int) -> Iterator[bytes]:
    """`length` bytes of the stored file from `start`, in chunks; the file is closed when
    the iteration ends (or the response is closed)."""
    handle: IO[bytes] = product_storage().open(key, "rb")
    try:
        handle.seek(start)
        left = length
        while left > 0:
            chunk = handle.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    finally:
        handle.close()


_RANGE = re.compile(r"^bytes=(?P<start>\d*)-(?P<end>\d*)$")


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a single `Range: bytes=...` header; None to serve the whole
    file (no header, or several ranges). Raises RangeNotSatisfiable."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # several ranges, or another unit: the whole file (RFC 9110 allows it)
    start_text, end_text = match.group("start"), match.group("end")
    if not start_text:
        if not end_text or int(end_text) == 0:
            raise RangeNotSatisfiable
        suffix = min(int(end_text), size)
        return size - suffix, size - 1
    start = int(start_text)
    end = min(int(end_text), size - 1) if end_text else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable
    return start, end
