"""Where a node is defined, and a violation message that names the file and the fix."""

from dbt_score import Exposure, Macro, Model, RuleViolation, Seed, Snapshot, Source

Node = Model | Source | Snapshot | Seed | Exposure | Macro


def yaml_file(node: Node) -> str | None:
    """The YAML file documenting `node` (`patch_path` without its `package://`)."""
    patch_path = getattr(node, "patch_path", None)
    if patch_path:
        return patch_path.split("://", 1)[-1]
    if node.original_file_path.endswith((".yml", ".yaml")):
        return node.original_file_path
    return None


def yaml_hint(node: Node) -> str:
    """Where to write `node`'s docs and tests, for a fix message."""
    folder = node.original_file_path.rsplit("/", 1)[0]
    return yaml_file(node) or f"a `_<folder>__models.yml` beside it in {folder}/"


def violation(node: Node, problem: str, fix: str) -> RuleViolation:
    """One line: the node's file, what is wrong, how to fix it."""
    return RuleViolation(message=f"{node.original_file_path}: {problem} Fix: {fix}")
