"""The Explore tab: every published report mart, with its description, as a
table and a chart, so a mart an analyst adds is visible without code changes.

The marts come from the reader's catalog (`MartReader.mart_catalog`: the
serving layer's ops.mart_catalog, information_schema on Snowflake). Only names
read from that catalog go into SQL, always quoted; nothing a user types does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from snowcart.engines.base import MartQuery

PREVIEW_ROWS = 200
CHART_POINTS = 500  # newest time values on the line chart
CHART_BARS = 20  # biggest categories on the bar chart
TIME_TYPES = ("timestamp", "date", "datetime")
TEXT_TYPES = ("varchar", "text", "string", "char", "character")
NUMBER_TYPES = (
    "tinyint", "smallint", "integer", "int", "bigint", "hugeint", "ubigint", "uinteger",
    "decimal", "numeric", "number", "double", "float", "real",
)  # fmt: skip
# Keys are numbers, not measures: a chart never sums them.
KEY_SUFFIXES = ("_id", "_key")


def quote(identifier: str) -> str:
    """A double-quoted SQL identifier (both engines), quotes inside doubled."""
    return '"' + identifier.replace('"', '""') + '"'


def column_kind(data_type: str) -> str:
    """'time', 'category', 'number' or 'other', from the engine's type name."""
    text = data_type.strip().lower()
    if text.startswith(TIME_TYPES):
        return "time"
    if text.startswith(TEXT_TYPES):
        return "category"
    if text.startswith("interval"):
        return "other"
    if text.startswith(NUMBER_TYPES):
        return "number"
    return "other"


@dataclass(frozen=True)
class MartColumn:
    name: str
    data_type: str
    description: str = ""

    @property
    def kind(self) -> str:
        return column_kind(self.data_type)


@dataclass(frozen=True)
class MartEntry:
    """One published mart as the catalog describes it."""

    schema_name: str
    name: str  # as the engine stores it (upper case on Snowflake)
    description: str
    columns: tuple[MartColumn, ...]

    @property
    def label(self) -> str:
        name = self.name.lower()
        return f"{name} — {self.description}" if self.description else name

    @property
    def relation(self) -> str:
        return f"{quote(self.schema_name)}.{quote(self.name)}"

    def first(self, kind: str) -> MartColumn | None:
        return next((column for column in self.columns if column.kind == kind), None)

    @property
    def measure(self) -> MartColumn | None:
        """The first numeric column that is not a key."""
        return next(
            (
                column
                for column in self.columns
                if column.kind == "number" and not column.name.lower().endswith(KEY_SUFFIXES)
            ),
            None,
        )

    @property
    def chart_axis(self) -> MartColumn | None:
        """What the chart runs along: the first time column, else the first category."""
        return self.first("time") or self.first("category")


@dataclass(frozen=True)
class MartChart:
    """The values a mart's chart draws: `axis` against `value`, as a line
    (time axis) or as bars (category axis)."""

    frame: pd.DataFrame
    axis: str
    value: str
    kind: str  # "line" or "bar"
    title: str


class Explorer:
    """The Explore tab's queries over one publication."""

    def __init__(self, query: MartQuery, catalog: Callable[[MartQuery], pd.DataFrame]) -> None:
        self.query = query
        self.catalog = catalog

    def marts(self) -> list[MartEntry]:
        frame = self.catalog(self.query)
        entries = []
        for row in frame.itertuples(index=False) if not frame.empty else ():
            columns = tuple(
                MartColumn(
                    str(column["name"]),
                    str(column.get("data_type") or ""),
                    str(column.get("description") or ""),
                )
                for column in json.loads(row.columns or "[]")
            )
            entries.append(
                MartEntry(str(row.schema_name), str(row.mart), str(row.description or ""), columns)
            )
        return sorted(entries, key=lambda entry: entry.name.lower())

    def rows(self, mart: MartEntry, limit: int = PREVIEW_ROWS) -> pd.DataFrame:
        """The first `limit` rows, newest first when the mart has a time column."""
        time_column = mart.first("time")
        order = f" order by {quote(time_column.name)} desc nulls last" if time_column else ""
        return self.query(f"select * from {mart.relation}{order} limit {int(limit)}")

    def chart(self, mart: MartEntry) -> MartChart | None:
        """Sum of the first measure (or the row count) along the first time column
        (newest CHART_POINTS values) or the first category (biggest CHART_BARS);
        None when the mart has neither."""
        axis = mart.chart_axis
        if axis is None:
            return None
        measure = mart.measure
        value = measure.name.lower() if measure else "row_count"
        aggregate = f"sum({quote(measure.name)})" if measure else "count(*)"
        grouped = (
            f"select {quote(axis.name)} as {quote(axis.name.lower())},"
            f" {aggregate} as {quote(value)} from {mart.relation} group by 1"
        )
        if axis.kind == "time":
            frame = self.query(f"{grouped} order by 1 desc limit {CHART_POINTS}")
            frame = frame.iloc[::-1].reset_index(drop=True)
            kind = "line"
        else:
            frame = self.query(f"{grouped} order by 2 desc nulls last limit {CHART_BARS}")
            kind = "bar"
        if frame.empty:
            return None
        title = f"{value.replace('_', ' ').capitalize()} by {axis.name.lower().replace('_', ' ')}"
        return MartChart(frame, axis.name.lower(), value, kind, title)
