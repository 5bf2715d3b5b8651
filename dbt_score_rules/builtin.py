"""dbt-score's own rules that are Snowcart conventions, re-issued with the file and the fix.

A built-in violation reads "Model lacks a description."; here the same check
says which file to edit and what to write. Each rule below runs the built-in
rule unchanged (same filters, severity and parameters) and only rewrites its
message; pyproject.toml disables the originals so each runs once.
"""

from collections.abc import Callable
from typing import Any

from dbt_score import Rule, RuleViolation
from dbt_score.rules import generic, macros

from dbt_score_rules._where import Node, violation, yaml_hint


def relocate(builtin: type[Rule], fix: Callable[[Any], str]) -> type[Rule]:
    """A rule doing `builtin`'s check whose message names the node's file and `fix(node)`."""

    def evaluate(self: Rule, evaluable: Node, **config: Any) -> RuleViolation | None:
        found = builtin().evaluate(evaluable, **config)
        if found is None:
            return None
        problem = (found.message or builtin.description).rstrip(".") + "."
        return violation(evaluable, problem, fix(evaluable))

    # dbt-score reads the evaluated resource type from this annotation.
    evaluate.__annotations__["evaluable"] = builtin.resource_type
    return type(
        builtin.__name__,
        (Rule,),
        {
            "description": builtin.description,
            "severity": builtin.severity,
            "rule_filters": builtin.rule_filters,
            "default_config": dict(builtin.default_config),
            "evaluate": evaluate,
            "__module__": __name__,
            "__qualname__": builtin.__name__,
        },
    )


def _document(node: Node) -> str:
    return f"add a `description:` to `{node.name}` in {yaml_hint(node)}."


def _document_columns(node: Node) -> str:
    return (
        f"give every column of `{node.name}` a `description:` in {yaml_hint(node)} "
        "(wording shared by many columns: a `{{ doc('...') }}` block beside it)."
    )


has_description = relocate(generic.has_description, _document)
columns_have_description = relocate(generic.columns_have_description, _document_columns)
has_no_unused_is_incremental = relocate(
    generic.has_no_unused_is_incremental,
    lambda model: (
        "drop the `is_incremental()` branch, or make the model incremental "
        "(its folder's `+materialized` in dbt_project.yml, or its `config()`)."
    ),
)
seed_has_description = relocate(generic.seed_has_description, _document)
seed_columns_have_description = relocate(generic.seed_columns_have_description, _document_columns)
snapshot_has_unique_key = relocate(
    generic.snapshot_has_unique_key,
    lambda snapshot: f"set `unique_key:` in `{snapshot.name}`'s config in {yaml_hint(snapshot)}.",
)
snapshot_has_strategy = relocate(
    generic.snapshot_has_strategy,
    lambda snapshot: f"set `strategy:` in `{snapshot.name}`'s config in {yaml_hint(snapshot)}.",
)
macro_has_description = relocate(
    macros.macro_has_description,
    lambda macro: f"describe `{macro.name}` in {yaml_hint_macro(macro)}.",
)
macro_arguments_have_description = relocate(
    macros.macro_arguments_have_description,
    lambda macro: f"describe each argument of `{macro.name}` in {yaml_hint_macro(macro)}.",
)
macro_name_follows_naming_convention = relocate(
    macros.macro_name_follows_naming_convention,
    lambda macro: "rename the macro in snake_case, and every call to it.",
)


def yaml_hint_macro(macro: Node) -> str:
    """Macros are documented in macros/_macros.yml (STYLE.md)."""
    return yaml_hint(macro) if getattr(macro, "patch_path", None) else "macros/_macros.yml"
