"""The databases a tabular MDC may run, as data: one :class:`Dialect` per engine.

UDIL lets a vendor publish its tables "via database tables/views"; head ends run SQL Server,
MySQL/MariaDB, Oracle, PostgreSQL or SQLite. The database URL's scheme picks the engine
(``mssql+pymssql://``, ``mysql+pymysql://``/``mariadb+pymysql://``, ``oracle+oracledb://``,
``postgresql://`` or a libpq keyword DSN, ``sqlite:///path``); statements are built with
SQLAlchemy Core, so identifier quoting, ``interval`` (a reserved word) and schema-qualified
view names are rendered by each engine's own dialect. What differs beyond that is in
:data:`DIALECTS` (never ``if engine == ...`` in the reader): the session's time zone, how rows
are streamed, how the device filter and the watermark are bound.

Values come back in the drivers' shapes and are turned into the protocol's wire text in one
place, :mod:`apps.udil.dbvalues`; PostgreSQL prints the text itself (``Dialect.server_text``).

Django-free: the registry (URL validation, "test connection"), the ingestion reader and the
simulator's writer all use it.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import sqlalchemy as sa
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.elements import quoted_name

from .dbvalues import WATERMARK_COLUMN, datetime_text
from .timefmt import PKT, format_datetime

WIRE_PATTERN = "YYYY-MM-DD HH24:MI:SS"  # PostgreSQL's to_char spelling of the wire format
ID_COLUMN = "id"  # UDIL 3.3 adds an auto-increment id to MDC tables: a tie-breaker in order


class EngineError(Exception):
    """The URL names no engine this MDM can read, or its driver is not installed."""


@dataclass(frozen=True)
class Dialect:
    """What one engine needs that SQLAlchemy's dialect does not already say."""

    name: str
    label: str
    schemes: tuple[str, ...]
    #: the DBAPI module (a pure-Python or wheel-packaged driver, declared in pyproject.toml)
    driver: str
    #: SQLAlchemy's name of the dialect with that driver
    sqlalchemy_name: str
    #: statements run on each new connection: Pakistan time for zone-aware types, read only,
    #: and a lock wait bounded by the MDC's timeout (``{timeout}`` seconds, ``{timeout_ms}``),
    #: so a vendor's table locked by a writer fails the pull instead of hanging it
    session_sql: tuple[str, ...]
    #: ask SQLAlchemy for a server-side cursor; engines without one (SQLite, SQL Server over
    #: pymssql) are read by the driver's own lazy fetch, which is also bounded
    stream_results: bool
    #: how many device ids one statement may carry in ``IN (...)``; above it the device
    #: filter is applied to the streamed rows instead (SQL Server allows 2100 parameters,
    #: Oracle 1000 list items). ``None``: bound as one array (``= ANY(%s)``)
    max_in_list: int | None
    #: how the watermark is bound: "aware" (zone-aware type), "naive" (local time types:
    #: DATETIME, datetime2, DATE, TIMESTAMP), "text" (SQLite keeps the spec's text)
    watermark_param: str
    #: the types a vendor uses for the spec's datetimes on this engine (documentation and
    #: the simulator's tables)
    datetime_types: tuple[str, ...]
    #: unquoted identifiers are folded to this case by the engine ("upper": Oracle); columns
    #: are matched to the spec's names whatever their case, and selected quoted as found
    folds_to: str = "lower"
    #: the server prints the values as wire text itself (PostgreSQL: ``to_char`` in the
    #: session's Pakistan time for its date/time types, ``::text`` for the rest), which the
    #: driver hands over unparsed; ``dbvalues.protocol_text`` then passes text through. Three
    #: times the rows/s of parsing into Python objects and printing them again
    server_text: bool = False
    #: the driver's type codes of date/time columns (for ``server_text``)
    time_type_codes: frozenset = frozenset()


DIALECTS: dict[str, Dialect] = {
    d.name: d
    for d in (
        Dialect(
            name="postgresql",
            label="PostgreSQL",
            schemes=("postgresql", "postgres", "postgresql+psycopg"),
            driver="psycopg",
            sqlalchemy_name="postgresql+psycopg",
            session_sql=(
                "SET TIME ZONE 'Asia/Karachi'",
                "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
                "SET lock_timeout = '{timeout}s'",
            ),
            stream_results=True,
            max_in_list=None,
            watermark_param="aware",
            datetime_types=("timestamptz", "timestamp"),
            server_text=True,
            time_type_codes=frozenset({1082, 1114, 1184}),  # date, timestamp, timestamptz
        ),
        Dialect(
            name="mysql",
            label="MySQL / MariaDB",
            schemes=("mysql+pymysql", "mariadb+pymysql"),
            driver="pymysql",
            sqlalchemy_name="mysql+pymysql",
            session_sql=(
                "SET time_zone = '+05:00'",
                "SET SESSION TRANSACTION READ ONLY",
                "SET SESSION lock_wait_timeout = {timeout}",
            ),
            stream_results=True,
            max_in_list=5000,
            watermark_param="naive",
            datetime_types=("DATETIME", "TIMESTAMP"),
        ),
        Dialect(
            name="mssql",
            label="Microsoft SQL Server",
            schemes=("mssql+pymssql",),
            driver="pymssql",
            sqlalchemy_name="mssql+pymssql",
            session_sql=(
                "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
                "SET LOCK_TIMEOUT {timeout_ms}",
            ),
            stream_results=False,
            max_in_list=2000,
            watermark_param="naive",
            datetime_types=("datetime", "datetime2", "datetimeoffset"),
        ),
        Dialect(
            name="oracle",
            label="Oracle",
            schemes=("oracle+oracledb",),
            driver="oracledb",
            sqlalchemy_name="oracle+oracledb",
            # readers never wait for writers' locks in Oracle: no lock timeout to set
            session_sql=("ALTER SESSION SET TIME_ZONE = '+05:00'",),
            stream_results=True,
            max_in_list=1000,
            watermark_param="naive",
            datetime_types=("DATE", "TIMESTAMP"),
            folds_to="upper",
        ),
        Dialect(
            name="sqlite",
            label="SQLite",
            schemes=("sqlite",),
            driver="sqlite3",
            sqlalchemy_name="sqlite",
            session_sql=(),  # the busy timeout is sqlite3's ``timeout`` (open_engine)
            stream_results=False,
            max_in_list=30000,
            watermark_param="text",
            datetime_types=("TEXT 'yyyy-MM-dd HH:mm:ss'",),
        ),
    )
}
_BY_SCHEME = {scheme: d.name for d in DIALECTS.values() for scheme in d.schemes}
_HINTS = {
    "mysql": "mysql+pymysql://",
    "mariadb": "mariadb+pymysql://",
    "mssql": "mssql+pymssql://",
    "sqlserver": "mssql+pymssql://",
    "oracle": "oracle+oracledb://",
}


def scheme_of(url: str) -> str:
    """The URL's scheme, lower case; a libpq keyword DSN (``dbname=... host=...``) is
    PostgreSQL's."""
    text = url.strip()
    if "://" not in text:
        return "postgresql" if "=" in text else ""
    return text.split("://", 1)[0].lower()


def dialect_of(url: str) -> Dialect:
    """The engine a database URL names; :class:`EngineError` says what is wrong."""
    scheme = scheme_of(url)
    name = _BY_SCHEME.get(scheme)
    dialect = DIALECTS.get(name) if name else None
    if dialect is None:
        known = ", ".join(f"{s}://" for d in DIALECTS.values() for s in d.schemes[:1])
        hint = _HINTS.get(scheme.split("+", 1)[0])
        if not scheme:
            raise EngineError(f"Not a database URL: use one of {known}.")
        more = f" (use {hint})" if hint else ""
        raise EngineError(f"Unknown database scheme {scheme}://{more}; known: {known}.")
    if importlib.util.find_spec(dialect.driver) is None:
        raise EngineError(
            f"The {dialect.label} driver ({dialect.driver}) is not installed in this MDM."
        )
    if dialect.name == "sqlite" and not _sqlite_path(url):
        raise EngineError("An SQLite URL names a file: sqlite:///path/to/vendor.sqlite.")
    return dialect


def url_problem(url: str) -> str | None:
    """Why a tabular database URL cannot be used, or None."""
    try:
        dialect_of(url)
    except EngineError as exc:
        return str(exc)
    return None


def _sqlite_path(url: str) -> str:
    path = url.strip().split("://", 1)[1]
    path = path[1:] if path.startswith("/") else path  # sqlite:///rel, sqlite:////abs
    path = unquote(path.split("?", 1)[0])
    return "" if path in ("", ":memory:") else path


def open_engine(url: str, *, timeout: int, writable: bool = False) -> tuple[sa.Engine, Dialect]:
    """An engine for the URL (no pool: a pull holds one connection), with the dialect's
    session settings applied to every connection. Read only unless ``writable`` (the
    simulator writes its tables with it)."""
    dialect = dialect_of(url)
    text = url.strip()
    if dialect.name == "postgresql":
        import psycopg

        dsn = text.replace("postgresql+psycopg://", "postgresql://", 1)
        engine = sa.create_engine(
            "postgresql+psycopg://",
            creator=lambda: psycopg.connect(dsn, connect_timeout=timeout),
            poolclass=NullPool,
        )
    elif dialect.name == "sqlite":
        path = _sqlite_path(text)
        target = f"file:{quote(path)}{'' if writable else '?mode=ro'}"
        engine = sa.create_engine(
            "sqlite://",
            creator=lambda: sqlite3.connect(
                target, uri=True, timeout=timeout, check_same_thread=False
            ),
            poolclass=NullPool,
        )
    else:
        connect_args = {
            "mysql": {"connect_timeout": timeout, "conv": _mysql_text_conversions()},
            "mssql": {"login_timeout": timeout},
            "oracle": {"tcp_connect_timeout": float(timeout)},
        }[dialect.name]
        engine = sa.create_engine(text, poolclass=NullPool, connect_args=connect_args)
    statements = [
        s.format(timeout=int(timeout), timeout_ms=int(timeout) * 1000)
        for s in dialect.session_sql
        if writable is False or "READ ONLY" not in s
    ]

    @sa.event.listens_for(engine, "connect")
    def _session(dbapi_connection, _record) -> None:
        if not statements:
            return
        cursor = dbapi_connection.cursor()
        try:
            for statement in statements:
                cursor.execute(statement)
        finally:
            cursor.close()
        dbapi_connection.commit()

    return engine, dialect


def _mysql_text_conversions() -> dict:
    """PyMySQL's decoders less DECIMAL and the date/time types: the server already sends
    them as the spec's text (``yyyy-MM-dd HH:mm:ss``, local time; ``123.450``), so parsing
    them into Python objects only to print them again is skipped."""
    from pymysql.constants import FIELD_TYPE
    from pymysql.converters import conversions

    text = {
        FIELD_TYPE.DECIMAL,
        FIELD_TYPE.NEWDECIMAL,
        FIELD_TYPE.DATETIME,
        FIELD_TYPE.TIMESTAMP,
        FIELD_TYPE.DATE,
    }
    return {k: v for k, v in conversions.items() if k not in text}


def describe_error(exc: BaseException) -> str:
    """A driver's error in one line, without SQLAlchemy's statement dump or the URL."""
    orig = getattr(exc, "orig", None) or exc
    args = getattr(orig, "args", ())
    if len(args) >= 2 and isinstance(args[0], int):  # pymysql/pymssql: (code, message)
        message = args[1].decode() if isinstance(args[1], bytes) else str(args[1])
        text = f"({args[0]}) {message}"
    else:
        text = str(orig)
    text = (text.strip().splitlines() or [""])[0].strip()
    return f"{type(orig).__name__}: {text}" if text else type(orig).__name__


# --- names -------------------------------------------------------------------------------------


def _part(text: str) -> quoted_name:
    """One part of a view name as the administrator typed it: a quoted part ("x", [x], `x`)
    is exact; a bare one is left to the engine's case folding (SQLAlchemy quotes it only when
    it must, as the engine itself would read it)."""
    text = text.strip()
    if len(text) >= 2 and (text[0], text[-1]) in (('"', '"'), ("[", "]"), ("`", "`")):
        return quoted_name(text[1:-1], quote=True)
    return quoted_name(text, quote=None)


def view_table(view: str, columns: Iterable[str] = ()) -> sa.TableClause:
    """``schema.view`` (or ``view``; SQL Server also ``database.schema.view``) as a table
    clause whose columns are quoted exactly as the engine reported them."""
    parts = [p for p in view.split(".") if p.strip()]
    if not parts:
        raise EngineError("empty view name")
    cols = [sa.column(quoted_name(name, quote=True)) for name in columns]
    schema = ".".join(parts[:-1]) or None
    return sa.table(_part(parts[-1]), *cols, schema=schema and _part(schema))


def match_columns(found: Iterable[str], wanted: Iterable[str]) -> dict[str, str]:
    """``{spec name: column name as the engine has it}`` matched without regard to case
    (Oracle reports GLOBAL_DEVICE_ID, SQL Server whatever the vendor typed)."""
    by_lower = {name.lower(): name for name in wanted}
    out: dict[str, str] = {}
    for column in found:
        spec = by_lower.get(column.lower())
        if spec is not None and spec not in out:
            out[spec] = column
    return out


def watermark_param(dialect: Dialect, value: dt.datetime) -> Any:
    """The watermark bound as the engine compares it (see ``Dialect.watermark_param``)."""
    local = value.astimezone(PKT) if value.tzinfo is not None else value
    if dialect.watermark_param == "aware":
        return local if local.tzinfo is not None else local.replace(tzinfo=PKT)
    naive = local.replace(tzinfo=None)
    if dialect.watermark_param == "text":
        return format_datetime(naive)
    return naive


# --- statements --------------------------------------------------------------------------------


def probe_statement(view: str) -> sa.Select:
    """No rows, every column: what the view has (``SELECT * ... WHERE 1 = 0``)."""
    # "1 = 0" spelled out: Oracle before 23 has no boolean literal for ``false()``
    return sa.select(sa.text("*")).select_from(view_table(view)).where(sa.text("1 = 0"))


def rows_statement(
    dialect: Dialect,
    view: str,
    columns: list[str],
    *,
    device_column: str,
    device_ids: list[str] | None,
    watermark_column: str | None,
    after: dt.datetime | None,
    id_column: str | None = None,
    time_columns: frozenset[str] = frozenset(),
    by_id: bool = False,
    after_id: int | None = None,
) -> tuple[sa.Select, dict[str, Any]]:
    """The pull's one statement: ``columns`` (then the watermark, as the engine has it) of
    the devices' rows after the watermark, oldest first. ``device_ids`` None: no device
    filter in SQL (the caller filters the rows; see ``Dialect.max_in_list``).
    ``time_columns``: which of ``columns`` are of date/time types (``Dialect.server_text``).

    ``by_id`` (a UDIL 3.3 table, ``id`` auto-increment): the rows after ``after_id`` in ``id``
    order, the id after the watermark at the end of each record; with no ``after_id`` yet, the
    rows after the watermark ``after`` (the first pull by id of a table read by time before)."""
    names = list(columns)
    if watermark_column is not None:
        names.append(watermark_column)
    if by_id:
        if id_column is None:
            raise EngineError("a pull by id needs the table's id column")
        names.append(id_column)
    table = view_table(view, dict.fromkeys([*names, device_column, *filter(None, [id_column])]))
    selected: list[Any] = [table.c[name] for name in names]
    if dialect.server_text:
        selected[: len(columns)] = [
            sa.func.to_char(table.c[name], WIRE_PATTERN)
            if name in time_columns
            else sa.cast(table.c[name], sa.Text)
            for name in columns
        ]
    stmt = sa.select(*selected)
    params: dict[str, Any] = {}
    device = table.c[device_column]
    if device_ids is not None:
        if dialect.max_in_list is None:
            from sqlalchemy.dialects.postgresql import ARRAY

            stmt = stmt.where(device == sa.any_(sa.bindparam("ids", type_=ARRAY(sa.Text))))
        else:
            stmt = stmt.where(device.in_(sa.bindparam("ids", expanding=True)))
        params["ids"] = list(device_ids)
    if by_id:
        ident = table.c[id_column]
        if after_id is not None:
            stmt = stmt.where(ident > sa.bindparam("after_id"))
            params["after_id"] = int(after_id)
        elif watermark_column is not None and after is not None:
            stmt = stmt.where(table.c[watermark_column] > sa.bindparam("after"))
            params["after"] = watermark_param(dialect, after)
        return stmt.order_by(ident), params
    if watermark_column is not None:
        mark = table.c[watermark_column]
        stmt = stmt.where(mark.is_not(None))
        if after is not None:
            stmt = stmt.where(mark > sa.bindparam("after"))
            params["after"] = watermark_param(dialect, after)
        order = [mark]
        if id_column is not None:
            order.append(table.c[id_column])
        stmt = stmt.order_by(*order)
    return stmt, params


def synced_statement(view: str, *, id_column: str, synced_column: str) -> tuple[sa.Update, str]:
    """``UPDATE view SET is_synced = 1 WHERE id IN (:ids)`` (UDIL 3.3: the MDM marks the rows
    it committed; the MDC may then purge them), with the name of its expanding parameter."""
    table = view_table(view, [id_column, synced_column])
    stmt = (
        sa.update(table)
        .where(table.c[id_column].in_(sa.bindparam("ids", expanding=True)))
        .values({synced_column: 1})
    )
    return stmt, "ids"


def compiled_sql(dialect: Dialect, stmt: sa.ClauseElement, **params: Any) -> str:
    """The SQL text the engine's driver would be sent, with its own placeholders (an
    expanding ``IN`` rendered for the ``params`` given)."""
    cls = sa.engine.make_url(f"{dialect.sqlalchemy_name}://").get_dialect()
    sa_dialect = cls(dbapi=cls.import_dbapi())  # the driver's own placeholder style
    if params:
        stmt = stmt.params(**params)
    kwargs = {"render_postcompile": True} if params else {}
    compiled = stmt.compile(dialect=sa_dialect, compile_kwargs=kwargs)
    return " ".join(str(compiled).split())


# --- "test connection" -------------------------------------------------------------------------


@dataclass(frozen=True)
class ViewReport:
    """What one configured view holds, against the spec's columns of its table."""

    table: str
    view: str
    error: str = ""
    missing: tuple[str, ...] = ()
    missing_keys: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    rows: int | None = None
    newest: str = ""  # newest db_datetime, wire text in Pakistan time

    @property
    def usable(self) -> bool:
        return not self.error and not self.missing_keys


COUNT_CAP = 1_000_000  # "test connection" counts a view's rows up to this many

# Columns a UDIL 3.3 MDC table adds that the MDM knows but does not load.
KNOWN_EXTRA_COLUMNS = frozenset({ID_COLUMN, "is_synced"})


def count_statement(view: str) -> sa.Select:
    """The view's rows counted up to ``COUNT_CAP + 1`` (each engine's own LIMIT, TOP or FETCH
    FIRST): the periodic health probe runs it too, and a vendor's load profile may hold
    hundreds of millions of rows."""
    capped = sa.select(sa.literal(1)).select_from(view_table(view)).limit(COUNT_CAP + 1)
    return sa.select(sa.func.count()).select_from(capped.subquery())


def inspect_views(
    conn: sa.Connection, views: dict[str, str], datasets_by_table: dict[str, Any]
) -> list[ViewReport]:
    """Each configured view (``{TABLE_ID: view}``): does it exist, which of the spec's columns
    it lacks (key columns apart) and which it has that the spec does not, its row count and
    its newest ``db_datetime``. A view that fails is reported and the others still checked."""
    reports = []
    for table, view in views.items():
        dataset = datasets_by_table.get(table)
        if dataset is None:
            continue
        try:
            with conn.begin():
                result = conn.execute(probe_statement(view))
                found = list(result.keys())
                result.close()
                names = {n for f in dataset.fields for n in (f.name, *f.aliases)}
                present = {n.lower() for n in found}
                missing = tuple(
                    f.name
                    for f in dataset.fields
                    if not {n.lower() for n in (f.name, *f.aliases)} & present
                )
                keys = tuple(n for n in missing if n in dataset.key)
                unknown = tuple(
                    c
                    for c in found
                    if c.lower() not in {n.lower() for n in names | KNOWN_EXTRA_COLUMNS}
                )
                t = view_table(view, found)
                mark = match_columns(found, [WATERMARK_COLUMN]).get(WATERMARK_COLUMN)
                newest: Any = None
                if mark is not None:  # the spec asks for an index on db_datetime: cheap
                    newest = conn.execute(sa.select(sa.func.max(t.c[mark]))).scalar_one()
                rows = conn.execute(count_statement(view)).scalar_one()
        except sa.exc.DBAPIError as exc:
            if exc.connection_invalidated:
                raise
            reports.append(ViewReport(table, view, error=describe_error(exc)))
            continue
        text = datetime_text(newest) if newest is not None else ""
        reports.append(ViewReport(table, view, "", missing, keys, unknown, int(rows), text or ""))
    return reports


def _listed(names: tuple[str, ...], most: int = 4) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def report_text(report: ViewReport) -> str:
    """One view's findings in a line (the "test connection" message)."""
    if report.error:
        return f"{report.table} {report.view}: cannot be read ({report.error})"
    over = report.rows is not None and report.rows > COUNT_CAP
    parts = [f"more than {COUNT_CAP:,} rows" if over else f"{report.rows} rows"]
    if report.newest:
        parts.append(f"newest db_datetime {report.newest}")
    if report.missing_keys:
        parts.append(f"missing key columns {_listed(report.missing_keys)}")
    rest = tuple(n for n in report.missing if n not in report.missing_keys)
    if rest:
        parts.append(f"missing {_listed(rest)}")
    if report.unknown:
        parts.append(f"unknown {_listed(report.unknown)}")
    return f"{report.table} {report.view}: {', '.join(parts)}"
