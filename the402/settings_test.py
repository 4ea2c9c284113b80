"""Test settings: the real settings module with the few overrides a test run needs."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-that-is-long-enough-000000")
os.environ.setdefault("THE402_DATA_DIR", tempfile.mkdtemp(prefix="the402-test-"))
os.environ.setdefault("THE402_ENCRYPTION_KEY", "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyYnl0ZXM=")

from the402.settings import *  # noqa: E402, F403
from the402.settings import Q_CLUSTER  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The test providers listen on 127.0.0.1 (the SSRF tests turn this off again).
WEBHOOK_ALLOW_PRIVATE = True
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "products": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not the shared-cache memory database: concurrency tests need SQLite's real
    # locking (busy timeout, IMMEDIATE transactions), as the embedded default runs it.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(os.environ["THE402_DATA_DIR"], "test.sqlite3")
    }
