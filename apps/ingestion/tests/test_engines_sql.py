"""SQL Server and Oracle cannot run on this machine: the SQL each dialect would send (compiled
by SQLAlchemy with the real driver's placeholder style) and the conversion of values in the
shapes those drivers return are checked here. SQLite, MariaDB and PostgreSQL run for real in
the other ``test_engines*`` files."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy.engine import make_url

from apps.udil import dbvalues, engines
from apps.udil.datasets import DATASETS
from apps.udil.timefmt import PKT

AFTER = dt.datetime(2025, 7, 1, 4, 0, tzinfo=dt.UTC)  # 09:00 in Pakistan


def naive(*parts: int) -> dt.datetime:
    """A zone-less value, as DATETIME / datetime2 / Oracle DATE drivers return local time."""
    return dt.datetime(*parts, tzinfo=PKT).replace(tzinfo=None)


def _pull_sql(name: str, view: str, columns: list[str], **kwargs) -> str:
    dialect = engines.DIALECTS[name]
    stmt, params = engines.rows_statement(
        dialect,
        view,
        columns,
        device_column=columns[0],
        device_ids=kwargs.pop("device_ids", ["m1", "m2"]),
        watermark_column=kwargs.pop("watermark", "db_datetime"),
        after=kwargs.pop("after", AFTER),
        **kwargs,
    )
    return engines.compiled_sql(dialect, stmt, **params), params


def test_sql_server_statement_brackets_names_binds_local_time_and_orders_by_id():
    sql, params = _pull_sql(
        "mssql",
        "dbo.load_profile_data",
        ["global_device_id", "interval", "active_energy_tl"],
        id_column="id",
    )
    t = "dbo.load_profile_data"
    assert sql == (
        f"SELECT {t}.[global_device_id], {t}.[interval], {t}.[active_energy_tl], "
        f"{t}.[db_datetime] FROM {t} WHERE {t}.[global_device_id] IN (%(ids_1)s, %(ids_2)s) "
        f"AND {t}.[db_datetime] IS NOT NULL AND {t}.[db_datetime] > %(after)s "
        f"ORDER BY {t}.[db_datetime], {t}.[id]"
    )
    # datetime / datetime2 hold the utility's local time: the watermark is bound naive PKT
    assert params["after"] == naive(2025, 7, 1, 9, 0)


def test_sql_server_three_part_name_and_mixed_case_view():
    sql = engines.compiled_sql(engines.DIALECTS["mssql"], engines.probe_statement("mdc.dbo.LP"))
    assert sql == "SELECT * FROM mdc.dbo.[LP] WHERE 1 = 0"
    sql = engines.compiled_sql(engines.DIALECTS["mssql"], engines.probe_statement("[Vendor LP]"))
    assert sql == "SELECT * FROM [Vendor LP] WHERE 1 = 0"


def test_oracle_statement_quotes_the_upper_case_names_it_reports_and_binds_local_time():
    found = ["GLOBAL_DEVICE_ID", "INTERVAL", "DB_DATETIME"]
    matched = engines.match_columns(found, DATASETS["load_profile"].field_names)
    assert matched == {
        "global_device_id": "GLOBAL_DEVICE_ID",
        "interval": "INTERVAL",
        "db_datetime": "DB_DATETIME",
    }
    sql, params = _pull_sql(
        "oracle",
        "MDC.LOAD_PROFILE_DATA",
        ["GLOBAL_DEVICE_ID", "INTERVAL"],
        watermark="DB_DATETIME",
    )
    t = '"MDC"."LOAD_PROFILE_DATA"'
    assert sql == (
        f'SELECT {t}."GLOBAL_DEVICE_ID", {t}."INTERVAL", {t}."DB_DATETIME" FROM {t} '
        f'WHERE {t}."GLOBAL_DEVICE_ID" IN (:ids_1, :ids_2) AND {t}."DB_DATETIME" IS NOT NULL '
        f'AND {t}."DB_DATETIME" > :after ORDER BY {t}."DB_DATETIME"'
    )
    assert params["after"] == naive(2025, 7, 1, 9, 0)
    # a lower-case name typed by the administrator is left to Oracle's folding (unquoted)
    assert engines.compiled_sql(engines.DIALECTS["oracle"], engines.probe_statement("mdc.lp")) == (
        "SELECT * FROM mdc.lp WHERE 1 = 0"
    )


def test_more_devices_than_an_oracle_in_list_takes_moves_the_filter_out_of_sql():
    assert engines.DIALECTS["oracle"].max_in_list == 1000
    assert engines.DIALECTS["mssql"].max_in_list <= 2100
    sql, params = _pull_sql("oracle", "lp", ["global_device_id"], device_ids=None)
    assert " IN " not in sql and "ids" not in params


def test_mysql_and_postgresql_statements():
    sql, _ = _pull_sql("mysql", "mdc.LP_VIEW", ["global_device_id", "interval"])
    assert "`interval`" in sql and "FROM mdc.`LP_VIEW`" in sql
    assert "IN (%(ids_1)s, %(ids_2)s)" in sql
    sql, params = _pull_sql(
        "postgresql",
        "sim_a.load_profile_data",
        ["global_device_id", "meter_datetime"],
        time_columns=frozenset({"meter_datetime"}),
    )
    # PostgreSQL prints the wire text itself (session in Pakistan time); the raw watermark last
    t = "sim_a.load_profile_data"
    assert sql.startswith(f'SELECT CAST({t}."global_device_id" AS TEXT) AS "global_device_id", ')
    assert f'to_char({t}."meter_datetime", %(to_char_' in sql
    assert f', {t}."db_datetime" FROM {t} WHERE' in sql
    assert engines.WIRE_PATTERN == "YYYY-MM-DD HH24:MI:SS"
    assert f'{t}."global_device_id" = ANY (%(ids)s::TEXT[])' in sql
    assert params["after"] == AFTER and params["after"].utcoffset() == dt.timedelta(hours=5)
    sql, params = _pull_sql("sqlite", "load_profile_data", ["global_device_id"])
    assert params["after"] == "2025-07-01 09:00:00"  # SQLite keeps the spec's text


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        # SQL Server: datetime2 (naive, fractional), datetimeoffset (aware), date
        (naive(2025, 7, 1, 9, 30, 15, 123456), "datetime", "2025-07-01 09:30:15"),
        (
            dt.datetime(2025, 7, 1, 4, 30, 15, tzinfo=dt.UTC),
            "datetime",
            "2025-07-01 09:30:15",
        ),
        (
            dt.datetime(2025, 7, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=5))),
            "datetime",
            "2025-07-01 09:30:00",
        ),
        (dt.date(2025, 7, 1), "datetime", "2025-07-01 00:00:00"),
        # Oracle DATE comes back as datetime; NUMBER as int, float or Decimal
        (naive(2025, 7, 1, 23, 59, 59), "datetime", "2025-07-01 23:59:59"),
        (1234.567, "decimal", "1234.567"),
        (0.1, "decimal", "0.1"),
        (1e-05, "decimal", "0.00001"),
        (Decimal("12.300"), "decimal", "12.300"),
        (Decimal("1E+3"), "decimal", "1000"),
        (7, "decimal", "7"),
        (Decimal("101"), "int", "101"),
        (101.0, "int", "101"),
        (4098562412, "bigint", "4098562412"),
        (Decimal("4098562412"), "bigint", "4098562412"),
        (True, "str", "1"),
        (b"m98562412", "str", "m98562412"),
        (None, "decimal", None),
        # text is the loader's to judge: passed through as it is
        ("0000-00-00 00:00:00", "datetime", "0000-00-00 00:00:00"),
        ("12.5", "decimal", "12.5"),
        ("not a number", "decimal", "not a number"),
        (float("nan"), "int", "nan"),  # refused by the loader
    ],
)
def test_driver_shaped_values_become_protocol_text(value, kind, text):
    assert dbvalues.protocol_text(value, kind) == text


def test_watermark_values_of_every_driver_become_aware_pakistan_time():
    want = dt.datetime(2025, 7, 1, 9, 30, tzinfo=PKT)
    for value in (
        naive(2025, 7, 1, 9, 30),  # naive local (DATETIME, datetime2, DATE)
        dt.datetime(2025, 7, 1, 4, 30, tzinfo=dt.UTC),  # datetimeoffset, timestamptz
        "2025-07-01 09:30:00",  # SQLite text
        "2025-07-01T09:30:00+05:00",
    ):
        got = dbvalues.protocol_datetime(value)
        assert got == want and got.utcoffset() == dt.timedelta(hours=5)


@pytest.mark.parametrize(
    ("url", "engine"),
    [
        ("mssql+pymssql://u:p@h:1433/db", "mssql"),
        ("mysql+pymysql://u:p@h/db", "mysql"),
        ("mariadb+pymysql://u:p@h/db", "mysql"),
        ("oracle+oracledb://u:p@h:1521/?service_name=x", "oracle"),
        ("postgresql://u:p@h/db", "postgresql"),
        ("dbname=mdc host=/tmp", "postgresql"),
        ("sqlite:////srv/vendor.sqlite", "sqlite"),
    ],
)
def test_the_url_scheme_picks_the_engine(url, engine):
    assert engines.dialect_of(url).name == engine
    assert engines.url_problem(url) is None


def test_test_connection_counts_rows_up_to_a_cap_in_each_engines_own_syntax():
    def sql(name):
        cls = make_url(f"{engines.DIALECTS[name].sqlalchemy_name}://").get_dialect()
        stmt = engines.count_statement("dbo.lp")
        compiled = stmt.compile(dialect=cls(), compile_kwargs={"literal_binds": True})
        return " ".join(str(compiled).split())

    cap = engines.COUNT_CAP + 1
    assert f"SELECT TOP {cap} " in sql("mssql")
    assert f"FETCH FIRST {cap} ROWS ONLY" in sql("oracle")
    assert "LIMIT" in sql("mysql") and "LIMIT" in sql("postgresql") and "LIMIT" in sql("sqlite")
