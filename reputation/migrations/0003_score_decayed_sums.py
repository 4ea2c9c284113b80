from __future__ import annotations

from django.db import migrations, models

SUMS = [
    "quality_pos",
    "quality_neg",
    "speed_pos",
    "speed_neg",
    "reliability_pos",
    "reliability_neg",
    "communication_pos",
    "communication_neg",
    "volume",
    "volume_data_api",
    "volume_automated_service",
    "volume_human_service",
    "volume_other",
    "decay_ref",
]


class Migration(migrations.Migration):
    """The decayed sums move from a JSON field to columns, so an incremental update is one
    upsert per row; a signal keeps the buyer's rating and feedback. The next recompute (every 30 minutes, or `manage.py
    reputation_recompute`) fills them from the signals."""

    dependencies = [("reputation", "0002_signals_sybil_flags")]

    operations = [
        migrations.RemoveField(model_name="reputationscore", name="evidence"),
        *(
            migrations.AddField(
                model_name="reputationscore",
                name=name,
                field=models.FloatField(default=0.0, editable=False),
            )
            for name in SUMS
        ),
        migrations.AddField(
            model_name="signal",
            name="rating",
            field=models.PositiveSmallIntegerField(
                blank=True, help_text="The buyer's rating on verify, 1 to 5", null=True
            ),
        ),
        migrations.AddField(
            model_name="signal",
            name="feedback",
            field=models.TextField(
                blank=True, help_text="The buyer's words on verify (not scored)"
            ),
        ),
    ]
