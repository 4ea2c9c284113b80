"""Content-Security-Policy on every HTML page: scripts and styles only from our own origin
(no inline script, no CDN), no framing, forms posting only to us.

Django 5.2 has no CSP support of its own (it arrives in 6.0), hence this small middleware.
The interactive API docs (`/docs`) load Swagger UI, whose stylesheet sets inline styles:
that page alone may use inline styles, never inline scripts (its script is served by the
split Swagger view from its own URL).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

_INLINE_STYLE_PATHS = ("/docs",)


def policy(*, inline_styles: bool = False) -> str:
    form_action = ["'self'"]
    if getattr(settings, "GOOGLE_CLIENT_ID", ""):
        # Signing in with Google posts to us, and we redirect the form to Google.
        form_action.append("https://accounts.google.com")
    style = "'self' 'unsafe-inline'" if inline_styles else "'self'"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            f"style-src {style}",
            "img-src 'self' data:",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
            f"form-action {' '.join(form_action)}",
        ]
    )


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.strict = policy()
        self.relaxed = policy(inline_styles=True)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if content_type.startswith("text/html") and "Content-Security-Policy" not in response:
            relaxed = request.path.startswith(_INLINE_STYLE_PATHS)
            response["Content-Security-Policy"] = self.relaxed if relaxed else self.strict
        return response
