"""A locked (approved) run's determinants never change: statement-level triggers refuse any
insert, update or delete touching a run whose status is 'approved' (whatever writes: a service,
the shell, a stray task). One join per statement, not a check per row."""

from django.db import migrations

CHECK = """
CREATE OR REPLACE FUNCTION billing_determinant_locked_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE locked bigint;
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    SELECT r.id INTO locked FROM changed_new c JOIN billing_billingrun r ON r.id = c.run_id
    WHERE r.status = 'approved' LIMIT 1;
  END IF;
  IF locked IS NULL AND TG_OP IN ('UPDATE', 'DELETE') THEN
    SELECT r.id INTO locked FROM changed_old c JOIN billing_billingrun r ON r.id = c.run_id
    WHERE r.status = 'approved' LIMIT 1;
  END IF;
  IF locked IS NOT NULL THEN
    RAISE EXCEPTION 'billing run % is approved and locked: its determinants never change', locked
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER billing_determinant_locked_insert AFTER INSERT ON billing_determinant
  REFERENCING NEW TABLE AS changed_new
  FOR EACH STATEMENT EXECUTE FUNCTION billing_determinant_locked_check();
CREATE TRIGGER billing_determinant_locked_update AFTER UPDATE ON billing_determinant
  REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
  FOR EACH STATEMENT EXECUTE FUNCTION billing_determinant_locked_check();
CREATE TRIGGER billing_determinant_locked_delete AFTER DELETE ON billing_determinant
  REFERENCING OLD TABLE AS changed_old
  FOR EACH STATEMENT EXECUTE FUNCTION billing_determinant_locked_check();
"""

DROP = """
DROP TRIGGER IF EXISTS billing_determinant_locked_insert ON billing_determinant;
DROP TRIGGER IF EXISTS billing_determinant_locked_update ON billing_determinant;
DROP TRIGGER IF EXISTS billing_determinant_locked_delete ON billing_determinant;
DROP FUNCTION IF EXISTS billing_determinant_locked_check();
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_determinant_run_reference_index")]

    operations = [migrations.RunSQL(CHECK, DROP)]
