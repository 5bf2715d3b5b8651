"""What the sidebar selects, and how a selection becomes a SQL WHERE clause over
code-defined column names with bound values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Filters:
    """What the sidebar selects. Empty regions/categories mean all of them;
    `last_days` counts back from the newest order date and wins over start/end."""

    start_date: date | None = None
    end_date: date | None = None
    last_days: int | None = None
    regions: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def slices_orders(self) -> bool:
        """True when only the region/category mart can answer (orders then count per cell)."""
        return bool(self.regions or self.categories)


@dataclass(frozen=True)
class DateWindow:
    start: date | None
    end: date | None


@dataclass
class Where:
    """A WHERE clause built from code-defined column names and bound values."""

    clauses: list[str] = field(default_factory=list)
    params: list[object] = field(default_factory=list)

    def add(self, clause: str, *params: object) -> Where:
        self.clauses.append(clause)
        self.params.extend(params)
        return self

    def add_in(self, column: str, values: Sequence[str]) -> Where:
        if values:
            placeholders = ", ".join("?" for _ in values)
            self.add(f"{column} in ({placeholders})", *values)
        return self

    def sql(self) -> str:
        return f"where {' and '.join(self.clauses)}" if self.clauses else ""


def filter_where(
    filters: Filters,
    window: DateWindow,
    date_column: str | None = None,
    region_column: str | None = None,
    category_column: str | None = None,
    month_column: str | None = None,
) -> Where:
    """The selection over the columns a mart has (None: the mart has no such column)."""
    where = Where()
    if date_column and window.start:
        where.add(f"{date_column} >= ?", window.start)
    if date_column and window.end:
        where.add(f"{date_column} <= ?", window.end)
    if month_column and window.start:
        where.add(f"{month_column} >= ?", window.start.replace(day=1))
    if month_column and window.end:
        where.add(f"{month_column} <= ?", window.end)
    if region_column:
        where.add_in(region_column, filters.regions)
    if category_column:
        where.add_in(category_column, filters.categories)
    return where
