"""Install the catalog's full-text index (FTS5 on SQLite, tsvector + GIN on PostgreSQL)."""

from __future__ import annotations

from django.db import migrations


def install(apps, schema_editor):
    from marketplace.catalog import search

    search.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0001_initial")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop, elidable=False)]
