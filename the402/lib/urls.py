from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def public_base_url(request: HttpRequest | None) -> str:
    """The absolute URL clients reach this deployment at, without a trailing slash.

    `THE402_PUBLIC_URL` wins when set (behind a TLS-terminating proxy the request alone
    would say http://); otherwise it is derived from the request.
    """
    if settings.PUBLIC_URL:
        return settings.PUBLIC_URL
    if request is None:
        return f"http://127.0.0.1:{settings.PORT}"
    return request.build_absolute_uri("/").rstrip("/")
