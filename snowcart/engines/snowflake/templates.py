"""Snowflake statements from the `.sql` files in `sql/` beside this module.

A file holds one statement or several, each ending with `;` at the end of a
line; `--` lines are notes for its reader and are left out. A file without `;`
is a fragment, filled into another statement. `{name}` placeholders take only:

- a name: an identifier or a dotted one (`DB.schema.table`), checked here;
- an `int`;
- `Sql`: a rendered fragment, or a string literal quoted by `literal()`.

Anything else is refused, so no unchecked text reaches the SQL. Files are split
into statements before they are filled, so a value never adds a statement.
"""

from __future__ import annotations

import functools
import re
from importlib.resources import files

from snowcart.errors import ConfigError

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)*$")
STATEMENT_END = re.compile(r";[ \t]*$", re.M)


class Sql(str):
    """SQL text that goes into a template as it is."""


def literal(value: str) -> Sql:
    """`value` as a Snowflake string literal."""
    return Sql("'" + value.replace("\\", "\\\\").replace("'", "''") + "'")


def statements(template: str, **values: str | int) -> list[Sql]:
    """The statements of `sql/<template>.sql`, filled with `values`, without their `;`."""
    *parts, rest = STATEMENT_END.split(_read(template))
    if not parts or rest.strip():
        raise ValueError(f"sql/{template}.sql: every statement must end with ';'")
    return [_fill(part.strip(), values) for part in parts]


def statement(template: str, **values: str | int) -> Sql:
    """The one statement of `sql/<template>.sql`, filled with `values`."""
    [only] = statements(template, **values)
    return only


def fragment(template: str, **values: str | int) -> Sql:
    """`sql/<template>.sql`, a piece of a statement (no `;`), filled with `values`."""
    text = _read(template).strip()
    if STATEMENT_END.search(text):
        raise ValueError(f"sql/{template}.sql is a statement, not a fragment")
    return _fill(text, values)


@functools.cache
def _read(template: str) -> str:
    text = (files(__package__) / "sql" / f"{template}.sql").read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def _fill(text: str, values: dict[str, str | int]) -> Sql:
    return Sql(text.format_map({name: _checked(name, value) for name, value in values.items()}))


def _checked(name: str, value: object) -> str:
    if isinstance(value, Sql):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and NAME.match(value):
        return value
    raise ConfigError(f"{name} {value!r} is not a plain Snowflake name")
