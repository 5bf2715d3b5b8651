"""The dbt profile pr-check runs with: the project's profiles.yml, plus the
`pr` target from profiles.example.yml when an older copy lacks it."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from snowcart.errors import ConfigError
from snowcart.settings import ensure_profile

PROFILE = "snowcart"
PR_TARGET = "pr"


def _outputs(path: Path) -> dict:
    try:
        profile = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read the dbt profile {path}: {error}") from None
    return profile.get(PROFILE, {}).get("outputs", {})


def profiles_dir(project_dir: Path, scratch: Path) -> Path:
    """A folder holding a profiles.yml with every target pr-check needs."""
    configured = os.environ.get("DBT_PROFILES_DIR")
    folder = Path(configured) if configured else project_dir
    if not configured:
        ensure_profile(project_dir)
    path = folder / "profiles.yml"
    if PR_TARGET in _outputs(path):
        return folder
    template = _outputs(project_dir / "profiles.example.yml")
    if PR_TARGET not in template:
        raise ConfigError(f"no `{PR_TARGET}` target in {path} or profiles.example.yml")
    profile = yaml.safe_load(path.read_text(encoding="utf-8"))
    profile[PROFILE]["outputs"][PR_TARGET] = template[PR_TARGET]
    merged = scratch / "profiles"
    merged.mkdir(parents=True, exist_ok=True)
    (merged / "profiles.yml").write_text(yaml.safe_dump(profile, sort_keys=False), encoding="utf-8")
    print(
        f"pr-check: {path} has no `{PR_TARGET}` target: using it with the one from profiles.example.yml"
    )
    return merged


def adapter_type(folder: Path, target: str) -> str:
    """The dbt adapter a target uses (`duckdb`, `snowflake`): decides whether
    the PR builds into a scratch file or into per-PR schemas."""
    outputs = _outputs(folder / "profiles.yml")
    if target not in outputs:
        raise ConfigError(f"no target {target!r} in {folder / 'profiles.yml'}")
    return str(outputs[target].get("type", ""))
