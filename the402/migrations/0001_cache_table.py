"""The database cache's table (settings.CACHES), which the rate limits count in.

`createcachetable` creates the table of every DatabaseCache in the settings and skips the
ones that exist; with Redis configured (REDIS_URL) there is nothing to create.
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps: Any, schema_editor: Any) -> None:
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop)]
