from django.db import migrations

SEQUENCE = "registry_global_device_id_seq"


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [
        migrations.RunSQL(
            f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE} START WITH 1 MINVALUE 1",
            f"DROP SEQUENCE IF EXISTS {SEQUENCE}",
        ),
    ]
