"""Idempotency-Key (Stripe semantics): a paid request sent twice is run once.

`idempotent(request, scope, handler)` runs `handler` once per (caller, key) and answers a
repeat with the first response. The record it keeps (`IdempotencyRecord`):

* is claimed under a lease (`THE402_IDEMPOTENCY_LEASE`, 5 minutes by default). A repeat
  while the lease runs is a 409; a repeat after it expired (the process running the request
  died) takes the record over, by a compare-and-swap on its `attempt`, so one retry only runs
  the request again. The payment's own rules still charge once: an x402 authorization is
  claimed once, and a request that died before committing charged nothing;
* expires 24 hours after the first request: the key is then new again, and the scheduled
  `purge_expired` task deletes expired records;
* keeps the response body encrypted (it may hold an API key, a webhook secret or, unless
  the view leaves it out, a credential), so a replay of register or rotate-key still
  returns the key without the database holding it in clear;
* is bound to a fingerprint of the request (method, path, media type and body, whatever
  the body's type), so the same key with another request is a 422.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.http import HttpResponseBase
from django.http.request import RawPostDataException
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from payments import crypto
from payments.models import IdempotencyRecord
from the402.lib.errors import ApplicationError

TTL = timedelta(hours=24)
BODY_PURPOSE = "idempotency-response"
# Attributes of the request while `idempotent` runs its handler.
_RUNNING = "_idempotency_record"
_KEPT = "_idempotency_kept"
_STORED_STATUSES = range(200, 500)
_NOT_STORED = {202, 402, 409, 429}
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
_CLAIM_TRIES = 3


def lease() -> timedelta:
    """How long a claim owns its record: the setting, and never less than a request may
    legitimately wait (its settlement and a data API's answer), so a live request is not
    taken over."""
    longest = settings.SETTLE_TIMEOUT + settings.DATA_API_TIMEOUT + 60
    return timedelta(seconds=max(settings.IDEMPOTENCY_LEASE, longest))


def _media_type(request: Request) -> str:
    return (request.META.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()


def _form_digest(request: Request) -> str:
    """A form body was consumed by parsing it (and a multipart boundary differs on every
    send): it is described by its fields and files (name, size and a digest of each)."""
    fields = sorted((k, v) for k, values in request.POST.lists() for v in values)
    files = []
    for name, upload in sorted(request.FILES.items()):
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        files.append((name, upload.name, upload.size, digest.hexdigest()))
    return "form:" + hashlib.sha256(json.dumps([fields, files]).encode()).hexdigest()


def _body_digest(request: Request) -> str:
    """What identifies the body, whatever its type: its raw bytes when they are still
    there, else what the view's parser made of them (a JSON value, a text brief)."""
    if _media_type(request) in _FORM_TYPES:
        return _form_digest(request)
    try:
        raw = request.body
    except RawPostDataException:  # a parser read the stream: its result is the body
        parsed = json.dumps(request.data, sort_keys=True, default=str)
        return "parsed:" + hashlib.sha256(parsed.encode()).hexdigest()
    return "raw:" + hashlib.sha256(raw).hexdigest()


def request_fingerprint(request: Request) -> str:
    return hashlib.sha256(
        json.dumps(
            [request.method, request.path, _media_type(request), _body_digest(request)]
        ).encode()
    ).hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    text = (
        crypto.decrypt(bytes(record.response_body), purpose=BODY_PURPOSE)
        if record.response_body is not None
        else "null"
    )
    replay = Response(json.loads(text), status=record.response_status)
    for name, value in record.response_headers.items():
        replay[name] = value
    replay["Idempotent-Replayed"] = "true"
    return replay


def _take_over(
    record: IdempotencyRecord, fingerprint: str, now: Any, *, expired: bool
) -> IdempotencyRecord | None:
    """Claim `record` as it was read (same attempt), or None if another request did first.
    An expired record starts afresh: another request's, another 24 hours."""
    fields: dict[str, Any] = {
        "attempt": F("attempt") + 1,
        "status": IdempotencyRecord.Status.IN_PROGRESS,
        "lease_until": now + lease(),
        "updated_at": now,
    }
    if expired:
        fields.update(
            request_fingerprint=fingerprint,
            expires_at=now + TTL,
            created_at=now,
            response_status=None,
            response_body=None,
            response_headers={},
        )
    taken = IdempotencyRecord.objects.filter(pk=record.pk, attempt=record.attempt).update(**fields)
    if not taken:
        return None
    record.attempt += 1
    return record


def _claim(
    scope: str, key: str, fingerprint: str
) -> tuple[IdempotencyRecord | None, Response | None]:
    """(the record this request now runs under, None), or (None, the stored response)."""
    for _ in range(_CLAIM_TRIES):
        now = timezone.now()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    scope=scope,
                    key=key,
                    request_fingerprint=fingerprint,
                    lease_until=now + lease(),
                    expires_at=now + TTL,
                )
            return record, None
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if existing is None:  # released or purged since: claim it afresh
            continue
        running = existing.status == IdempotencyRecord.Status.IN_PROGRESS and (
            existing.lease_until is not None and existing.lease_until > now
        )
        if not running and (existing.expires_at is None or existing.expires_at <= now):
            taken = _take_over(existing, fingerprint, now, expired=True)
        elif existing.request_fingerprint != fingerprint:
            raise ApplicationError(
                "This Idempotency-Key was used with a different request",
                code="idempotency_key_reused",
                status=422,
            )
        elif existing.status == IdempotencyRecord.Status.COMPLETED:
            return None, _replay(existing)
        elif running:
            break
        else:  # its runner died: the first retry past the lease runs it again
            taken = _take_over(existing, fingerprint, now, expired=False)
        if taken is not None:
            return taken, None
    raise ApplicationError(
        "A request with this Idempotency-Key is in progress",
        code="idempotency_key_in_progress",
        status=409,
    )


def _mine(record: IdempotencyRecord) -> Any:
    """The record while this request still holds it (not taken over meanwhile)."""
    return IdempotencyRecord.objects.filter(pk=record.pk, attempt=record.attempt)


def idempotent(request: Request, scope: str, handler: Callable[[], Response]) -> Response:
    """Run `handler` once per (caller, Idempotency-Key); repeats get the first response.

    A concurrent repeat gets 409 (until the lease expires), the same key with a different
    request 422. Responses that invite a retry (402, 202 pending, 409, 429) and server errors
    are not kept, so the key can be used again for that retry, and so are non-JSON answers (a
    file download). A view may set `response.replay_data`, what to keep instead of
    `response.data`: a copy with secrets it must not store (credentials) removed.
    """
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return handler()
    if not key or len(key) > 255:
        raise ApplicationError(
            "Idempotency-Key must be 1 to 255 characters", code="invalid_idempotency_key"
        )
    record, replay = _claim(scope, key, request_fingerprint(request))
    if replay is not None:
        return replay
    assert record is not None
    setattr(request, _RUNNING, record)
    try:
        response = handler()
    except BaseException:
        _mine(record).delete()
        raise
    finally:
        delattr(request, _RUNNING)
    if getattr(request, _KEPT, False):
        return response  # kept in the work's own transaction (`idempotency_keep`)
    if not _store(record, response):
        _mine(record).delete()
    return response


def idempotency_keep(request: Request, response: HttpResponseBase) -> None:
    """Store `response` as its Idempotency-Key's answer inside the caller's transaction,
    the one that commits the work (a charge and its job): the work and the completed record
    commit together. Stored after that transaction instead, a process dying in between (or a
    lost database connection) left the key in progress, and the retry after the lease did
    the work, and charged, again. No-op outside `idempotent`, or for an answer not kept."""
    record = getattr(request, _RUNNING, None)
    if record is not None and _store(record, response):
        setattr(request, _KEPT, True)


def _store(record: IdempotencyRecord, response: HttpResponseBase) -> bool:
    """Complete `record` with `response` if it is an answer to keep; whether it was."""
    if not isinstance(response, Response):  # a file download
        return False
    if response.status_code not in _STORED_STATUSES or response.status_code in _NOT_STORED:
        return False
    # As the renderer writes it: Decimal amounts, dates and lazy strings included.
    body = json.dumps(getattr(response, "replay_data", response.data), cls=JSONEncoder)
    _mine(record).update(
        status=IdempotencyRecord.Status.COMPLETED,
        lease_until=None,
        response_status=response.status_code,
        response_body=crypto.encrypt(body, purpose=BODY_PURPOSE),
        response_headers={
            name: value
            for name, value in response.items()
            if name.lower() in ("payment-response", "x-payment-response")
        },
        updated_at=timezone.now(),
    )
    return True


def purge_expired() -> int:
    """Delete the records past their 24 hours (but not one a live request still holds);
    returns how many."""
    now = timezone.now()
    deleted, _ = (
        IdempotencyRecord.objects.filter(Q(expires_at__lte=now) | Q(expires_at=None))
        .exclude(status=IdempotencyRecord.Status.IN_PROGRESS, lease_until__gt=now)
        .delete()
    )
    return deleted
