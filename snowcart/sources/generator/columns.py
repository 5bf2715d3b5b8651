"""Rows kept as columns between batches (the state's backlog and a browsing
session's remainder), and their JSON form."""

from __future__ import annotations

import numpy as np

Columns = dict[str, np.ndarray]


def rows(columns: Columns) -> int:
    return len(next(iter(columns.values()))) if columns else 0


def take(columns: Columns, index) -> Columns:
    return {name: values[index] for name, values in columns.items()}


def concat(parts: list[Columns]) -> Columns:
    parts = [part for part in parts if rows(part)]
    if not parts:
        return {}
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def to_lists(columns: Columns) -> dict[str, list]:
    return {name: values.tolist() for name, values in columns.items()} if rows(columns) else {}


def from_lists(data: dict[str, list]) -> Columns:
    """Columns back from JSON: text columns as object arrays, the rest int64."""
    out = {}
    for name, values in data.items():
        text = bool(values) and isinstance(values[0], str)
        out[name] = np.array(values, dtype=object if text else np.int64)
    return out if data and rows(out) else {}
