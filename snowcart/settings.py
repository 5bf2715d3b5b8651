"""Where things live and which warehouse to talk to, resolved once per process."""

from __future__ import annotations

import copy
import functools
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from snowcart.errors import ConfigError

if TYPE_CHECKING:
    from snowcart.stages.kafka import KafkaSettings
    from snowcart.stages.s3 import S3Location


def find_project_dir() -> Path:
    """The dbt project the commands run: $SNOWCART_PROJECT_DIR, else the checkout
    this package sits in (an editable install), else the nearest folder from
    the working directory up that holds a dbt_project.yml (a wheel install run
    inside the project), else the working directory (prepare() then says so)."""
    if os.environ.get("SNOWCART_PROJECT_DIR"):
        return Path(os.environ["SNOWCART_PROJECT_DIR"]).expanduser().resolve()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "dbt_project.yml").is_file():
        return checkout
    here = Path.cwd().resolve()
    return next(
        (path for path in (here, *here.parents) if (path / "dbt_project.yml").is_file()), here
    )


PROJECT_DIR = find_project_dir()
TARGETS = ("dev", "snowflake", "fakesnow")
DEFAULT_HOME = PROJECT_DIR / ".snowcart"
# Without the dbt var stream_consumers: the first slice, orders only.
DEFAULT_STREAM_CONSUMERS = {"orders": ["base_shop__orders", "base_shop__order_lines"]}
# Local knobs: environment variables that become project vars. The project
# reads no env_var() (dbt project objects on Snowflake do not support it).
ENVIRONMENT_VARS = {
    "SNOWCART_REPORTER_ROLE": "reporter_role",
    "SNOWCART_EMBEDDED_TARGET_LAG": "embedded_target_lag",
    "SNOWCART_CHANGE_STREAMS": "change_streams",
}


def vars_from_environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The project vars the environment sets (for dbt's --vars)."""
    return {var: environ[name] for name, var in ENVIRONMENT_VARS.items() if name in environ}


IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


@dataclass(frozen=True)
class Settings:
    """Paths and target for one run. `home` holds the embedded warehouse and stage."""

    target: str
    home: Path
    project_dir: Path = PROJECT_DIR
    # The stage when it is an S3 prefix (--stage s3://…), and the queue of its
    # bucket's event notifications (--sqs-queue-url); None: the home's folder.
    s3_stage: S3Location | None = None
    sqs_queue_url: str | None = None
    # Kafka topics instead of a stage (simulate.py --sink kafka, pipeline.py --source kafka).
    kafka: KafkaSettings | None = None

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
        if not (self.project_dir / "dbt_project.yml").is_file():
            raise ConfigError(
                f"no dbt project in {self.project_dir}: run inside the Snowcart project "
                "or set SNOWCART_PROJECT_DIR"
            )
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
    def s3_mirror_path(self) -> Path:
        """The ETag of each S3 stage object brought into the stage folder."""
        return self.home / "s3_mirror.json"

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


# The schema of the pipeline's own tables (load history, refresh log, tasks) on
# both engines; the dbt macros name it too (ops.stream_offsets).
OPS_SCHEMA = "ops"


def change_consumers(project_dir: Path = PROJECT_DIR) -> dict[str, list[str]]:
    """Base model or dimension -> the facts that read what they have not consumed
    of it (dbt var `change_consumers`; macros/engine/streams.sql)."""
    return {
        model: list(facts)
        for model, facts in (project_vars(project_dir).get("change_consumers") or {}).items()
    }


def stream_consumers(project_dir: Path = PROJECT_DIR) -> dict[str, list[str]]:
    """Landing table -> the dbt models that consume it through a stream of their own.

    From the dbt var `stream_consumers`; without it, the default slice
    (orders read by base_shop__orders and base_shop__order_lines). Each consumer
    needs its own stream: consuming a stream in one model's DML advances its
    offset for every reader of that stream. Model names end up in stream names
    (`<table>__<model>`), so each must be a plain identifier."""
    tables = landing_tables(project_dir)
    configured = project_vars(project_dir).get("stream_consumers")
    if configured is None:
        return {t: list(m) for t, m in DEFAULT_STREAM_CONSUMERS.items() if t in tables}
    if not isinstance(configured, dict):
        raise ConfigError("dbt var stream_consumers must map a landing table to a list of models")
    consumers: dict[str, list[str]] = {}
    for table, models in configured.items():
        if table not in tables:
            raise ConfigError(
                f"dbt var stream_consumers names {table!r}, which is not in landing_tables"
            )
        if isinstance(models, str) or not isinstance(models, list):
            raise ConfigError(f"dbt var stream_consumers.{table} must be a list of model names")
        consumers[table] = [identifier(str(model), "stream consumer model") for model in models]
    return consumers


def identifier(value: str, what: str) -> str:
    """`value` if it is a plain (unquoted) SQL identifier; ConfigError naming `what` if not.
    Names written into SQL are checked with this first."""
    if not IDENTIFIER.match(value or ""):
        raise ConfigError(f"{what} {value!r} is not a plain Snowflake identifier")
    return value
