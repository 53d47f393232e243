"""BRIN indexes on ``ingested_at`` of the partitioned tables: what a run stored or changed is
found by it after every pull (the roll-ups, VEE); without one the query read every row of the MDC
within the refill age (#13: 1.6-3.4 s at 50 million rows, 1-3 ms with it). On a partitioned
parent an index reaches every partition, and those made later.

Frozen from apps/warehouse/schema.py (ingested_index_sql).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("warehouse", "0006_udil_3_3_meter_visuals_columns"),
    ]

    operations = [
        migrations.RunSQL(
            sql="""
CREATE INDEX "warehouse_instantaneous_ingested_brin" ON "warehouse_instantaneous" USING brin (ingested_at);
CREATE INDEX "warehouse_billing_ingested_brin" ON "warehouse_billing" USING brin (ingested_at);
CREATE INDEX "warehouse_monthly_billing_ingested_brin" ON "warehouse_monthly_billing" USING brin (ingested_at);
CREATE INDEX "warehouse_load_profile_ingested_brin" ON "warehouse_load_profile" USING brin (ingested_at);
CREATE INDEX "warehouse_event_ingested_brin" ON "warehouse_event" USING brin (ingested_at);
CREATE INDEX "warehouse_device_comm_history_ingested_brin" ON "warehouse_device_comm_history" USING brin (ingested_at);
""",
            reverse_sql="""
DROP INDEX IF EXISTS "warehouse_instantaneous_ingested_brin";
DROP INDEX IF EXISTS "warehouse_billing_ingested_brin";
DROP INDEX IF EXISTS "warehouse_monthly_billing_ingested_brin";
DROP INDEX IF EXISTS "warehouse_load_profile_ingested_brin";
DROP INDEX IF EXISTS "warehouse_event_ingested_brin";
DROP INDEX IF EXISTS "warehouse_device_comm_history_ingested_brin";
""",
        ),
    ]
