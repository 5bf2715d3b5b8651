"""Snowcart's dbt conventions as dbt-score rules, run by `make conventions`.

dbt-score imports this package by name (`rule_namespaces` in pyproject.toml) from
the repository root, which it puts on `sys.path`: it is a dev tool beside the dbt
project, so it lives there and not in the `snowcart` wheel (whose runtime never
has dbt-score installed).

- `snowcart.py`: the project's own rules (prefix per folder, a tested primary
  key, contracts on public models, marts never reading sources, exposures
  reading public models only).
- `builtin.py`: the dbt-score rules we keep, re-issued so that each violation
  names the file to edit and the fix (the originals are disabled in
  pyproject.toml).
"""
