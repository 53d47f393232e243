"""Flat-file deliveries (UDIL 2019 names "flat file" among the transports; repository notes,
docs/udil-notes.md "flat files"): reading one CSV file named by its data set.

A delivery is one file ``<data set>_<yyyyMMddTHHmm>.csv`` (e.g.
``load_profile_20261201T1000.csv``; seconds may follow the minutes), UTF-8 (a BOM is allowed),
comma separated, a header row of the data set's field names (``apps.udil.datasets``: spec names
or their aliases, any order; unknown columns are ignored and reported), then one row per line,
values in the protocol's text (datetimes ``yyyy-MM-dd HH:mm:ss`` Pakistan time), an empty cell
for no value.

In the watched directory a file is complete once its name ends in ``.csv``: an MDC writes
``<name>.csv.part`` (or any other name, or a dot file) and renames it into place when done
(a rename is atomic on one file system), so a file being written is never read. After it was
read a file moves to ``loaded/`` (loaded or a duplicate) or ``failed/`` under the directory.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apps.udil.datasets import DATASETS, DataSet
from apps.udil.timefmt import PKT

DELIVERY_NAME = re.compile(r"^(?P<dataset>[a-z][a-z0-9_]*?)_(?P<stamp>\d{8}T\d{4}(?:\d{2})?)\.csv$")
PART_SUFFIX = ".part"
LOADED_DIR = "loaded"
FAILED_DIR = "failed"


class DeliveryRejected(ValueError):
    """The file cannot be read as a delivery (its name, encoding or header); nothing loads."""


@dataclass(frozen=True)
class DeliveryName:
    dataset: str
    stamp: dt.datetime


@dataclass
class DeliveryRows:
    """A delivery's rows (field name -> text or None) with the line each came from, the lines
    that could not be rows at all (``(raw, reason)``), and header columns not in the data set."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    rejects: list[tuple[Any, str]] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)


def delivery_name_parse(name: str, *, datasets=None) -> DeliveryName:
    """The data set and delivery time a file name states; raises :class:`DeliveryRejected`."""
    match = DELIVERY_NAME.match(name)
    known = DATASETS if datasets is None else datasets
    if match is None or match["dataset"] not in known:
        raise DeliveryRejected(
            f"{name!r} is not named <data set>_<yyyyMMddTHHmm>.csv with a data set of "
            f"{', '.join(sorted(known))}."
        )
    stamp = match["stamp"]
    pattern = "%Y%m%dT%H%M%S" if len(stamp) == 15 else "%Y%m%dT%H%M"
    try:
        moment = dt.datetime.strptime(stamp, pattern).replace(tzinfo=PKT)
    except ValueError:
        raise DeliveryRejected(f"{name!r}: {stamp} is not a date and time.") from None
    return DeliveryName(dataset=match["dataset"], stamp=moment)


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def delivery_rows(
    content: bytes, dataset_code: str, *, dataset: DataSet | None = None
) -> DeliveryRows:
    """Read a delivery's CSV text. Lines that are not a row of the header's width are rejects
    (with their line number); raises :class:`DeliveryRejected` for no header, or a header
    without the data set's key columns. ``dataset``: the MDC's profile's definition (default
    the 2019 one)."""
    dataset = dataset or DATASETS[dataset_code]
    if b"\x00" in content:
        raise DeliveryRejected("The file holds NUL bytes: it is not CSV text.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DeliveryRejected(
            f"The file is not UTF-8 text ({exc.reason} at byte {exc.start})."
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise DeliveryRejected("The file is empty (no header row).") from None
    except csv.Error as exc:
        raise DeliveryRejected(f"Line 1: {exc}") from None
    spelled = {name for f in dataset.fields for name in (f.name, *f.aliases)}
    missing = [key for key in dataset.unique_key if key not in header]
    if missing:
        raise DeliveryRejected(
            f"The header lacks the data set's key columns: {', '.join(missing)} "
            f"(a {dataset_code} delivery has the columns {', '.join(dataset.field_names)})."
        )
    out = DeliveryRows(unknown_columns=[name for name in header if name not in spelled])
    width = len(header)
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            out.rejects.append(({"line": reader.line_num}, f"line {reader.line_num}: {exc}"))
            continue
        line = reader.line_num
        if not values or values == [""]:
            continue  # a blank line
        if len(values) != width:
            raw = {"line": line, "values": values}
            reason = f"line {line}: {len(values)} values where the header has {width}"
            out.rejects.append((raw, reason))
            continue
        out.rows.append(
            {
                name: (value if value != "" else None)
                for name, value in zip(header, values, strict=True)
            }
        )
        out.lines.append(line)
    return out


def delivery_columns() -> dict[str, list[str]]:
    """Each data set's delivery columns (its fields, in the protocol's order)."""
    return {code: list(dataset.field_names) for code, dataset in DATASETS.items()}


def inbox(directory: str | Path) -> list[Path]:
    """The complete deliveries waiting in a directory, oldest name first (``*.part`` files,
    dot files and subdirectories are not complete deliveries)."""
    root = Path(directory)
    if not root.is_dir():
        return []
    return sorted(
        path
        for path in root.iterdir()
        if path.is_file() and path.name.endswith(".csv") and not path.name.startswith(".")
    )


def file_move(path: Path, subdirectory: str) -> Path | None:
    """Move a read file into ``loaded/`` or ``failed/`` beside it (a numbered name when one is
    there already); None when the directory is not writable (the sha256 still keeps it from
    loading twice)."""
    target_dir = path.parent / subdirectory
    try:
        target_dir.mkdir(exist_ok=True)
        target = target_dir / path.name
        number = 1
        while target.exists():
            target = target_dir / f"{path.stem}.{number}{path.suffix}"
            number += 1
        path.rename(target)
    except OSError:
        return None
    return target
