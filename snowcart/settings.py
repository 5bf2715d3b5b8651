"""Where things live and which warehouse to talk to, resolved once per process."""

from __future__ import annotations

import copy
import functools
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from snowcart.errors import ConfigError

PROJECT_DIR = Path(__file__).resolve().parent.parent
TARGETS = ("dev", "snowflake", "fakesnow")
DEFAULT_HOME = PROJECT_DIR / ".snowcart"


@dataclass(frozen=True)
class Settings:
    """Paths and target for one run. `home` holds the embedded warehouse and stage."""

    target: str
    home: Path
    project_dir: Path = PROJECT_DIR

    @classmethod
    def locate(cls, target: str | None = None, home: str | os.PathLike | None = None) -> Settings:
        """--target, else $SNOWCART_TARGET, else dev; --home, else $SNOWCART_HOME,
        else ./.snowcart. Creates nothing (a reader only reads)."""
        target = target or os.environ.get("SNOWCART_TARGET") or "dev"
        if target not in TARGETS:
            raise ConfigError(f"unknown target {target!r}; choose one of: {', '.join(TARGETS)}")
        home_path = Path(home or os.environ.get("SNOWCART_HOME") or DEFAULT_HOME)
        return cls(target=target, home=home_path.expanduser().resolve())

    @classmethod
    def resolve(cls, target: str | None = None, home: str | os.PathLike | None = None) -> Settings:
        """`locate`, then create the home and the profile a writer needs."""
        settings = cls.locate(target, home)
        settings.prepare()
        return settings

    def prepare(self) -> None:
        """Create the home folders and a profiles.yml, and point dbt at both."""
        try:
            self.stage_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(f"cannot use {self.home} as home: {error.strerror}") from error
        ensure_profile(self.project_dir)
        # dbt runs in this process and reads these through env_var() in the profile.
        os.environ["SNOWCART_HOME"] = str(self.home)
        os.environ["SNOWCART_TARGET"] = self.target
        # The profile names the home's warehouse, and dbt re-parses the whole
        # project (seconds) when the profile differs from the one its cache was
        # written with: each home keeps its own target/ (parse cache, compiled SQL).
        os.environ["DBT_TARGET_PATH"] = str(self.home / "target")

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def serving_path(self) -> Path:
        """The published, read-only copy of the marts readers open."""
        return self.home / "serving.duckdb"

    @property
    def stage_dir(self) -> Path:
        return self.home / "stage"

    @property
    def ledger_path(self) -> Path:
        return self.home / "ledger.ndjson"

    @property
    def producer_state_path(self) -> Path:
        return self.home / "producer.json"


def ensure_profile(project_dir: Path = PROJECT_DIR) -> Path:
    """Copy the documented template to the git-ignored profiles.yml if missing."""
    profile = project_dir / "profiles.yml"
    if not profile.exists() and not os.environ.get("DBT_PROFILES_DIR"):
        shutil.copyfile(project_dir / "profiles.example.yml", profile)
    return profile


def project_vars(project_dir: Path = PROJECT_DIR) -> dict:
    """The `vars:` block of dbt_project.yml (landing tables, schema names).
    Read again only when the file changes: the loop asks every cycle, and
    parsing the YAML each time cost 8% of a busy loop (benchmark profile)."""
    path = project_dir / "dbt_project.yml"
    stat = path.stat()
    return copy.deepcopy(_read_vars(path, stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _read_vars(path: Path, mtime_ns: int, size: int) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle).get("vars", {})


def landing_tables(project_dir: Path = PROJECT_DIR) -> list[str]:
    return list(project_vars(project_dir)["landing_tables"])


def raw_schema(project_dir: Path = PROJECT_DIR) -> str:
    return str(project_vars(project_dir)["raw_schema"])


def stream_consumers(project_dir: Path = PROJECT_DIR) -> dict[str, list[str]]:
    """Landing table -> the models reading it through a stream (dbt var)."""
    return {
        table: list(models)
        for table, models in (project_vars(project_dir).get("stream_consumers") or {}).items()
    }
