"""The data set tables as PostgreSQL creates them: RANGE-partitioned by month on the meter time
(with a DEFAULT partition so no row is ever lost), the spec's composite keys, an (mdc_id,
db_datetime) index for pull watermarks and a BRIN index on the load profile time.

Frozen from apps/warehouse/schema.py; monthly partitions are created by
``partitions_ensure`` (after migrate, daily by Celery beat, and by each load).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0001_initial")]

    operations = [
    migrations.RunSQL(
        sql="""
CREATE TABLE "warehouse_instantaneous" (
  "current_tariff_register" integer,
  "signal_strength" numeric(18,3),
  "msn" bigint,
  "global_device_id" varchar(50) NOT NULL,
  "meter_datetime" timestamptz NOT NULL,
  "current_phase_a" numeric(18,3),
  "current_phase_b" numeric(18,3),
  "current_phase_c" numeric(18,3),
  "voltage_phase_a" numeric(18,3),
  "voltage_phase_b" numeric(18,3),
  "voltage_phase_c" numeric(18,3),
  "aggregate_active_pwr_pos" numeric(18,3),
  "aggregate_active_pwr_neg" numeric(18,3),
  "aggregate_reactive_pwr_pos" numeric(18,3),
  "aggregate_reactive_pwr_neg" numeric(18,3),
  "average_pf" numeric(18,3),
  "mdc_read_datetime" timestamptz,
  "db_datetime" timestamptz,
  mdc_id integer NOT NULL,
  ingested_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "warehouse_instantaneous_pkey" PRIMARY KEY ("global_device_id", "meter_datetime")
) PARTITION BY RANGE ("meter_datetime");
CREATE TABLE "warehouse_instantaneous_default" PARTITION OF "warehouse_instantaneous" DEFAULT;
CREATE INDEX "warehouse_instantaneous_mdc_db_datetime_idx" ON "warehouse_instantaneous" (mdc_id, db_datetime);
""",
        reverse_sql='DROP TABLE IF EXISTS "warehouse_instantaneous" CASCADE;',
    ),
    migrations.RunSQL(
        sql="""
CREATE TABLE "warehouse_billing" (
  "msn" bigint,
  "global_device_id" varchar(50) NOT NULL,
  "meter_datetime" timestamptz NOT NULL,
  "active_energy_pos_t1" numeric(18,3),
  "active_energy_pos_t2" numeric(18,3),
  "active_energy_pos_t3" numeric(18,3),
  "active_energy_pos_t4" numeric(18,3),
  "active_energy_pos_tl" numeric(18,3),
  "active_energy_neg_t1" numeric(18,3),
  "active_energy_neg_t2" numeric(18,3),
  "active_energy_neg_t3" numeric(18,3),
  "active_energy_neg_t4" numeric(18,3),
  "active_energy_neg_tl" numeric(18,3),
  "reactive_energy_pos_t1" numeric(18,3),
  "reactive_energy_pos_t2" numeric(18,3),
  "reactive_energy_pos_t3" numeric(18,3),
  "reactive_energy_pos_t4" numeric(18,3),
  "reactive_energy_pos_tl" numeric(18,3),
  "reactive_energy_neg_t1" numeric(18,3),
  "reactive_energy_neg_t2" numeric(18,3),
  "reactive_energy_neg_t3" numeric(18,3),
  "reactive_energy_neg_t4" numeric(18,3),
  "reactive_energy_neg_tl" numeric(18,3),
  "active_mdi_pos_t1" numeric(18,3),
  "active_mdi_pos_t2" numeric(18,3),
  "active_mdi_pos_t3" numeric(18,3),
  "active_mdi_pos_t4" numeric(18,3),
  "active_mdi_pos_tl" numeric(18,3),
  "active_mdi_neg_t1" numeric(18,3),
  "active_mdi_neg_t2" numeric(18,3),
  "active_mdi_neg_t3" numeric(18,3),
  "active_mdi_neg_t4" numeric(18,3),
  "active_mdi_neg_tl" numeric(18,3),
  "cumulative_mdi_pos_t1" numeric(18,3),
  "cumulative_mdi_pos_t2" numeric(18,3),
  "cumulative_mdi_pos_t3" numeric(18,3),
  "cumulative_mdi_pos_t4" numeric(18,3),
  "cumulative_mdi_pos_tl" numeric(18,3),
  "cumulative_mdi_neg_t1" numeric(18,3),
  "cumulative_mdi_neg_t2" numeric(18,3),
  "cumulative_mdi_neg_t3" numeric(18,3),
  "cumulative_mdi_neg_t4" numeric(18,3),
  "cumulative_mdi_neg_tl" numeric(18,3),
  "mdc_read_datetime" timestamptz,
  "db_datetime" timestamptz,
  mdc_id integer NOT NULL,
  ingested_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "warehouse_billing_pkey" PRIMARY KEY ("global_device_id", "meter_datetime")
) PARTITION BY RANGE ("meter_datetime");
CREATE TABLE "warehouse_billing_default" PARTITION OF "warehouse_billing" DEFAULT;
CREATE INDEX "warehouse_billing_mdc_db_datetime_idx" ON "warehouse_billing" (mdc_id, db_datetime);
""",
        reverse_sql='DROP TABLE IF EXISTS "warehouse_billing" CASCADE;',
    ),
    migrations.RunSQL(
        sql="""
CREATE TABLE "warehouse_monthly_billing" (
  "msn" bigint,
  "global_device_id" varchar(50) NOT NULL,
  "meter_datetime" timestamptz NOT NULL,
  "active_energy_pos_t1" numeric(18,3),
  "active_energy_pos_t2" numeric(18,3),
  "active_energy_pos_t3" numeric(18,3),
  "active_energy_pos_t4" numeric(18,3),
  "active_energy_pos_tl" numeric(18,3),
  "active_energy_neg_t1" numeric(18,3),
  "active_energy_neg_t2" numeric(18,3),
  "active_energy_neg_t3" numeric(18,3),
  "active_energy_neg_t4" numeric(18,3),
  "active_energy_neg_tl" numeric(18,3),
  "reactive_energy_pos_t1" numeric(18,3),
  "reactive_energy_pos_t2" numeric(18,3),
  "reactive_energy_pos_t3" numeric(18,3),
  "reactive_energy_pos_t4" numeric(18,3),
  "reactive_energy_pos_tl" numeric(18,3),
  "reactive_energy_neg_t1" numeric(18,3),
  "reactive_energy_neg_t2" numeric(18,3),
  "reactive_energy_neg_t3" numeric(18,3),
  "reactive_energy_neg_t4" numeric(18,3),
  "reactive_energy_neg_tl" numeric(18,3),
  "active_mdi_pos_t1" numeric(18,3),
  "active_mdi_pos_t2" numeric(18,3),
  "active_mdi_pos_t3" numeric(18,3),
  "active_mdi_pos_t4" numeric(18,3),
  "active_mdi_pos_tl" numeric(18,3),
  "active_mdi_neg_t1" numeric(18,3),
  "active_mdi_neg_t2" numeric(18,3),
  "active_mdi_neg_t3" numeric(18,3),
  "active_mdi_neg_t4" numeric(18,3),
  "active_mdi_neg_tl" numeric(18,3),
  "cumulative_mdi_pos_t1" numeric(18,3),
  "cumulative_mdi_pos_t2" numeric(18,3),
  "cumulative_mdi_pos_t3" numeric(18,3),
  "cumulative_mdi_pos_t4" numeric(18,3),
  "cumulative_mdi_pos_tl" numeric(18,3),
  "cumulative_mdi_neg_t1" numeric(18,3),
  "cumulative_mdi_neg_t2" numeric(18,3),
  "cumulative_mdi_neg_t3" numeric(18,3),
  "cumulative_mdi_neg_t4" numeric(18,3),
  "cumulative_mdi_neg_tl" numeric(18,3),
  "mdi_reset_datetime" timestamptz,
  "reset_count" integer,
  "mdc_read_datetime" timestamptz,
  "db_datetime" timestamptz,
  mdc_id integer NOT NULL,
  ingested_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "warehouse_monthly_billing_pkey" PRIMARY KEY ("global_device_id", "meter_datetime")
) PARTITION BY RANGE ("meter_datetime");
CREATE TABLE "warehouse_monthly_billing_default" PARTITION OF "warehouse_monthly_billing" DEFAULT;
CREATE INDEX "warehouse_monthly_billing_mdc_db_datetime_idx" ON "warehouse_monthly_billing" (mdc_id, db_datetime);
""",
        reverse_sql='DROP TABLE IF EXISTS "warehouse_monthly_billing" CASCADE;',
    ),
    migrations.RunSQL(
        sql="""
CREATE TABLE "warehouse_load_profile" (
  "msn" bigint,
  "global_device_id" varchar(50) NOT NULL,
  "meter_datetime" timestamptz NOT NULL,
  "channel_id" integer NOT NULL DEFAULT 0,
  "interval" integer,
  "active_energy_t1" numeric(18,3),
  "active_energy_t2" numeric(18,3),
  "active_energy_t3" numeric(18,3),
  "active_energy_t4" numeric(18,3),
  "active_energy_tl" numeric(18,3),
  "reactive_energy_t1" numeric(18,3),
  "reactive_energy_t2" numeric(18,3),
  "reactive_energy_t3" numeric(18,3),
  "reactive_energy_t4" numeric(18,3),
  "reactive_energy_tl" numeric(18,3),
  "active_mdi_t1" numeric(18,3),
  "active_mdi_t2" numeric(18,3),
  "active_mdi_t3" numeric(18,3),
  "active_mdi_t4" numeric(18,3),
  "active_mdi_tl" numeric(18,3),
  "cumulative_mdi_t1" numeric(18,3),
  "cumulative_mdi_t2" numeric(18,3),
  "cumulative_mdi_t3" numeric(18,3),
  "cumulative_mdi_t4" numeric(18,3),
  "cumulative_mdi_tl" numeric(18,3),
  "current_phase_a" numeric(18,3),
  "current_phase_b" numeric(18,3),
  "current_phase_c" numeric(18,3),
  "voltage_phase_a" numeric(18,3),
  "voltage_phase_b" numeric(18,3),
  "voltage_phase_c" numeric(18,3),
  "active_pwr_pos_phase_a" numeric(18,3),
  "active_pwr_pos_phase_b" numeric(18,3),
  "active_pwr_pos_phase_c" numeric(18,3),
  "aggregate_active_pwr_pos" numeric(18,3),
  "active_pwr_neg_phase_a" numeric(18,3),
  "active_pwr_neg_phase_b" numeric(18,3),
  "active_pwr_neg_phase_c" numeric(18,3),
  "aggregate_active_pwr_neg" numeric(18,3),
  "reactive_pwr_pos_phase_a" numeric(18,3),
  "reactive_pwr_pos_phase_b" numeric(18,3),
  "reactive_pwr_pos_phase_c" numeric(18,3),
  "aggregate_reactive_pwr_pos" numeric(18,3),
  "reactive_pwr_neg_phase_a" numeric(18,3),
  "reactive_pwr_neg_phase_b" numeric(18,3),
  "reactive_pwr_neg_phase_c" numeric(18,3),
  "aggregate_reactive_pwr_neg" numeric(18,3),
  "average_pf" numeric(18,3),
  "mdc_read_datetime" timestamptz,
  "db_datetime" timestamptz,
  mdc_id integer NOT NULL,
  ingested_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "warehouse_load_profile_pkey" PRIMARY KEY ("global_device_id", "meter_datetime", "channel_id")
) PARTITION BY RANGE ("meter_datetime");
CREATE TABLE "warehouse_load_profile_default" PARTITION OF "warehouse_load_profile" DEFAULT;
CREATE INDEX "warehouse_load_profile_mdc_db_datetime_idx" ON "warehouse_load_profile" (mdc_id, db_datetime);
CREATE INDEX "warehouse_load_profile_time_brin" ON "warehouse_load_profile" USING brin ("meter_datetime");
""",
        reverse_sql='DROP TABLE IF EXISTS "warehouse_load_profile" CASCADE;',
    ),
    migrations.RunSQL(
        sql="""
CREATE TABLE "warehouse_event" (
  "msn" bigint,
  "global_device_id" varchar(50) NOT NULL,
  "event_datetime" timestamptz NOT NULL,
  "event_code" integer NOT NULL,
  "event_description" varchar(50),
  "mdc_read_datetime" timestamptz,
  "db_datetime" timestamptz,
  mdc_id integer NOT NULL,
  ingested_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "warehouse_event_pkey" PRIMARY KEY ("global_device_id", "event_datetime", "event_code")
) PARTITION BY RANGE ("event_datetime");
CREATE TABLE "warehouse_event_default" PARTITION OF "warehouse_event" DEFAULT;
CREATE INDEX "warehouse_event_mdc_db_datetime_idx" ON "warehouse_event" (mdc_id, db_datetime);
""",
        reverse_sql='DROP TABLE IF EXISTS "warehouse_event" CASCADE;',
    ),
    migrations.RunSQL(
        sql="""
CREATE TABLE "warehouse_meter_visuals" (
  "msn" bigint,
  "global_device_id" varchar(50) NOT NULL,
  "last_command" varchar(50),
  "last_command_datetime" timestamptz,
  "last_command_resp" varchar(50),
  "last_command_resp_datetime" timestamptz,
  "last_active_energy_pos_tl" numeric(18,3),
  "last_active_energy_pos_tl_datetime" timestamptz,
  "last_active_energy_neg_tl" numeric(18,3),
  "last_active_energy_neg_tl_datetime" timestamptz,
  "last_reactive_energy_pos_tl" numeric(18,3),
  "last_reactive_energy_pos_tl_datetime" timestamptz,
  "last_reactive_energy_neg_tl" numeric(18,3),
  "last_reactive_energy_neg_tl_datetime" timestamptz,
  "aggregate_active_pwr_pos" numeric(18,3),
  "aggregate_active_pwr_pos_datetime" timestamptz,
  "aggregate_active_pwr_neg" numeric(18,3),
  "aggregate_active_pwr_neg_datetime" timestamptz,
  "aggregate_reactive_pwr_pos" numeric(18,3),
  "aggregate_reactive_pwr_pos_datetime" timestamptz,
  "aggregate_reactive_pwr_neg" numeric(18,3),
  "aggregate_reactive_pwr_neg_datetime" timestamptz,
  "last_contactor_on_datetime" timestamptz,
  "last_contactor_off_datetime" timestamptz,
  "last_communication_datetime" timestamptz,
  "last_signal_strength" numeric(18,3),
  "meter_load_limit_set" numeric(18,3),
  "meter_ls_schedule_startdatetime" timestamptz,
  "meter_ls_schedule_enddatetime" timestamptz,
  "meter_ls_schedule_slabs" text,
  "meter_last_comm_datetime" timestamptz,
  "meter_tariff_identification" text,
  "meter_activation_status" integer,
  mdc_id integer NOT NULL,
  ingested_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "warehouse_meter_visuals_pkey" PRIMARY KEY ("global_device_id")
);
CREATE INDEX "warehouse_meter_visuals_mdc_idx" ON "warehouse_meter_visuals" (mdc_id);
""",
        reverse_sql='DROP TABLE IF EXISTS "warehouse_meter_visuals" CASCADE;',
    ),
    ]
