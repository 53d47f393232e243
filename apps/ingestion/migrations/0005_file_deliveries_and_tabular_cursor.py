import apps.registry.choices
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ingestion", "0004_ingestionrun_file_transport"),
        ("registry", "0005_mdc_file_transport_and_is_synced"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="watermark",
            name="cursor_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="ingestionrun",
            name="trigger",
            field=models.CharField(
                choices=[
                    ("schedule", "Schedule"),
                    ("manual", "Pull now"),
                    ("retry", "Retry"),
                    ("upload", "Upload"),
                    ("other", "Other"),
                ],
                default="schedule",
                max_length=10,
            ),
        ),
        migrations.CreateModel(
            name="FileDelivery",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "dataset",
                    models.CharField(
                        blank=True,
                        choices=apps.registry.choices.dataset_choices,
                        max_length=20,
                    ),
                ),
                ("name", models.CharField(max_length=255)),
                ("sha256", models.CharField(max_length=64)),
                ("size", models.PositiveBigIntegerField(default=0)),
                (
                    "source",
                    models.CharField(
                        choices=[("directory", "Watched directory"), ("upload", "Upload")],
                        default="directory",
                        max_length=10,
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("loaded", "Loaded"),
                            ("duplicate", "Duplicate"),
                            ("failed", "Failed"),
                        ],
                        db_index=True,
                        max_length=10,
                    ),
                ),
                ("rows_received", models.PositiveIntegerField(default=0)),
                ("rows_inserted", models.PositiveIntegerField(default=0)),
                ("rows_updated", models.PositiveIntegerField(default=0)),
                ("rows_unchanged", models.PositiveIntegerField(default=0)),
                ("rows_quarantined", models.PositiveIntegerField(default=0)),
                ("error", models.TextField(blank=True)),
                ("received_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "mdc",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="file_deliveries",
                        to="registry.mdc",
                    ),
                ),
                (
                    "run",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="deliveries",
                        to="ingestion.ingestionrun",
                    ),
                ),
                (
                    "uploaded_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "file deliveries",
                "ordering": ["-received_at", "-id"],
                "permissions": [("upload_delivery", "Can upload flat-file deliveries")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("state", "loaded")),
                        fields=("mdc", "sha256"),
                        name="ingestion_file_delivery_loaded_once",
                    )
                ],
            },
        ),
    ]
