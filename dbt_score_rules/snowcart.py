"""Snowcart's conventions that dbt-score has no built-in rule for (CONTRIBUTING.md).

Each violation names the file to edit and the fix. They are HIGH severity, but
any violation of any enabled rule fails `make conventions`
(`fail_any_item_under = 10.0` in pyproject.toml).
"""

from fnmatch import fnmatch
from pathlib import PurePosixPath

from dbt_score import Exposure, Model, RuleViolation, Severity, Source, rule
from dbt_score.models import Column

from dbt_score_rules._where import violation, yaml_hint

# The name prefix of a model in each folder; the longest matching folder wins,
# and `*` stands for one folder (the source under staging/).
FOLDER_PREFIXES = {
    "models/staging/*/base": "base_",
    "models/staging/*/quarantine": "qrn_",
    "models/staging": "stg_",
    "models/intermediate": "int_",
    "models/marts/core": "dim_",
    "models/marts/sales": "fct_",
    "models/marts/operations": "fct_",
    "models/marts/reporting": "rpt_",
}
MARTS = "models/marts"
KEY_TESTS = {"unique", "not_null"}
COMPOSITE_KEY_TEST = "unique_combination"  # macros/generic_tests/unique_combination.sql


def _folder_prefix(path: str, folder_prefixes: dict[str, str]) -> tuple[str, str] | None:
    """The (folder pattern, prefix) that applies to the model file at `path`."""
    folder = PurePosixPath(path).parent.parts
    matches = [
        (pattern, prefix)
        for pattern, prefix in folder_prefixes.items()
        if len(parts := PurePosixPath(pattern).parts) <= len(folder)
        and all(fnmatch(name, part) for name, part in zip(folder, parts, strict=False))
    ]
    return max(matches, key=lambda match: len(PurePosixPath(match[0]).parts), default=None)


@rule(severity=Severity.HIGH)
def model_prefix_matches_folder(
    model: Model, folder_prefixes: dict[str, str] = FOLDER_PREFIXES
) -> RuleViolation | None:
    """A model's name starts with its folder's prefix (base_, stg_, qrn_, int_, dim_, fct_, rpt_)."""
    folder = str(PurePosixPath(model.original_file_path).parent)
    match = _folder_prefix(model.original_file_path, folder_prefixes)
    if match is None:
        layers = ", ".join(sorted(folder_prefixes))
        return violation(
            model,
            f"{folder}/ has no naming convention.",
            f"move the model into one of {layers} (or add its folder to FOLDER_PREFIXES "
            "in dbt_score_rules/snowcart.py).",
        )
    _, prefix = match
    if model.name.startswith(prefix):
        return None
    rest = model.name
    for other in sorted(set(folder_prefixes.values()), key=len, reverse=True):
        if rest.startswith(other):
            rest = rest.removeprefix(other)
            break
    return violation(
        model,
        f"a model in {folder}/ is named `{prefix}...`, not `{model.name}`.",
        f"rename it `{prefix}{rest}` (the .sql file, its entry in {yaml_hint(model)} "
        "and every ref() to it).",
    )


def _test_types(column: Column) -> set[str]:
    return {test.type for test in column.tests}


def _tested_keys(model: Model) -> list[set[str]]:
    """Column sets with a uniqueness test whose every column is also tested not null."""
    not_null = {c.name for c in model.columns if "not_null" in _test_types(c)}
    keys = [{c.name} for c in model.columns if _test_types(c).issuperset(KEY_TESTS)]
    for test in model.tests:
        columns = set(test.kwargs.get("columns") or [])
        if test.type == COMPOSITE_KEY_TEST and columns and columns <= not_null:
            keys.append(columns)
    return keys


def _declared_primary_key(model: Model) -> set[str]:
    """Columns of a `primary_key` constraint, if the model declares one."""
    for column in model.columns:
        if any(constraint.type == "primary_key" for constraint in column.constraints):
            return {column.name}
    for constraint in model.constraints:
        if constraint.type == "primary_key":
            return set(constraint.columns or [])
    return set()


@rule(severity=Severity.HIGH)
def model_has_primary_key_test(model: Model) -> RuleViolation | None:
    """Every model has a tested primary key: `unique` + `not_null` (or `unique_combination`)."""
    keys = _tested_keys(model)
    declared = _declared_primary_key(model)
    yaml = yaml_hint(model)
    if declared and declared not in keys:
        columns = ", ".join(sorted(declared))
        return violation(
            model,
            f"its primary_key constraint ({columns}) has no uniqueness test.",
            f"test it in {yaml}: `data_tests: [unique, not_null]` on the column, or "
            f"`unique_combination` on the model and `not_null` on each column.",
        )
    if keys:
        return None
    half_tested = [c.name for c in model.columns if "unique" in _test_types(c)]
    hint = f" (`{'`, `'.join(half_tested)}` is unique but may be null)" if half_tested else ""
    return violation(
        model,
        f"no primary-key test{hint}.",
        f"add `data_tests: [unique, not_null]` on its key column in {yaml} "
        f"(a composite key: `{COMPOSITE_KEY_TEST}` on the model and `not_null` on each "
        "of its columns).",
    )


@rule(severity=Severity.HIGH)
def public_model_has_contract(model: Model) -> RuleViolation | None:
    """A public model has an enforced contract, so every column has a data_type."""
    if model.access != "public":
        return None
    if not (model.config.get("contract") or {}).get("enforced"):
        return violation(
            model,
            "a public model without an enforced contract.",
            "set `contract: {enforced: true}` (models/marts/reporting/ has it from "
            f"dbt_project.yml) and a `data_type` on every column in {yaml_hint(model)}.",
        )
    untyped = [column.name for column in model.columns if not column.data_type]
    if untyped:
        return violation(
            model,
            f"contract columns without a data_type: {', '.join(untyped)}.",
            f"give each a `data_type:` in {yaml_hint(model)}.",
        )
    return None


@rule(severity=Severity.HIGH)
def mart_reads_no_source(model: Model) -> RuleViolation | None:
    """A mart (models/marts/) reads staged models, never a source() directly."""
    if not model.original_file_path.startswith(f"{MARTS}/"):
        return None
    sources = [parent for parent in model.parents if isinstance(parent, Source)]
    if not sources:
        return None
    read = ", ".join(f"source('{s.source_name}', '{s.name}')" for s in sources)
    staging = ", ".join(sorted({f"models/staging/{s.source_name}/stg_*" for s in sources}))
    return violation(
        model,
        f"a mart reads {read}.",
        f"ref() the staging model of that table instead ({staging}; add one if it is missing).",
    )


@rule(severity=Severity.HIGH)
def exposure_reads_public_models(exposure: Exposure) -> RuleViolation | None:
    """An exposure depends only on public models (the contracted marts)."""
    private = [
        parent.name
        for parent in exposure.parents
        if not (isinstance(parent, Model) and parent.access == "public")
    ]
    if not private:
        return None
    return violation(
        exposure,
        f"exposure `{exposure.name}` reads non-public {', '.join(private)}.",
        "point it at public marts (models/marts/reporting/rpt_*), or make the model "
        "`access: public` with an enforced contract.",
    )
