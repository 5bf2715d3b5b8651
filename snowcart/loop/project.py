"""The dbt project as the running loop last read it, read again when its files
change: an analyst's new or edited mart goes live without a restart.

`Dbt` parses the project again when a file changes (its fingerprint); the
manifest version it bumps tells the watch to re-read the marts, the lineage
and each node's checksum, and to say what changed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from snowcart.errors import ConfigError

if TYPE_CHECKING:
    from snowcart.engines.base import Lineage
    from snowcart.engines.dbt_runner import Dbt

UNITS_S = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def lag_seconds(target_lag: str | None) -> float:
    """Seconds in a Snowflake target_lag ('30 seconds', '1 minute'); 'downstream'
    (refresh when the inputs change) is 0."""
    text = str(target_lag or "").strip().lower()
    if text == "downstream":
        return 0.0
    parts = text.split()
    if len(parts) == 2 and parts[0].isdigit() and parts[1].rstrip("s") in UNITS_S:
        return float(int(parts[0]) * UNITS_S[parts[1].rstrip("s")])
    raise ConfigError(f"target_lag {target_lag!r} is not '<n> seconds|minutes|hours|days'")


@dataclass(frozen=True)
class ProjectChange:
    """What changed between two reads of the project, by node name."""

    new_marts: tuple[str, ...] = ()
    removed_marts: tuple[str, ...] = ()
    new_models: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()  # models, snapshots, seeds (marts too) whose file changed
    removed_models: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return any(
            (self.new_marts, self.removed_marts, self.new_models, self.changed, self.removed_models)
        )

    @property
    def to_build(self) -> set[str]:
        """New and changed nodes: built again, with what reads them."""
        return {*self.new_marts, *self.new_models, *self.changed}

    def describe(self) -> str:
        """'project changed: new mart rpt_x, changed model y', for the status and log."""
        parts = [f"new mart {name}" for name in self.new_marts]
        parts += [f"new model {name}" for name in self.new_models]
        parts += [f"changed model {name}" for name in self.changed]
        parts += [f"removed mart {name}" for name in self.removed_marts]
        parts += [f"removed model {name}" for name in self.removed_models]
        return "project changed: " + (", ".join(parts) or "no model changed")


class ProjectWatch:
    """The marts (name → lag in seconds), lineage and node checksums of the
    manifest the loop schedules from."""

    def __init__(self, dbt: Dbt) -> None:
        self.dbt = dbt
        self.version = dbt.current_version()
        self.marts, self.lineage, self.checksums = self._read()

    def _read(self) -> tuple[dict[str, float], Lineage, dict[str, str]]:
        marts = {name: lag_seconds(lag) for name, lag in sorted(self.dbt.dynamic_tables().items())}
        return marts, self.dbt.lineage(), self.dbt.checksums()

    def poll(self) -> ProjectChange | None:
        """What changed since the last read, or None when no project file did.
        Raises BuildError (the project does not parse) or ConfigError (a mart's
        lag is not one), keeping the last good read; the next poll tries again."""
        version = self.dbt.current_version()
        if version == self.version:
            return None
        marts, lineage, checksums = self._read()
        change = ProjectChange(
            new_marts=tuple(sorted(marts.keys() - self.marts.keys())),
            removed_marts=tuple(sorted(self.marts.keys() - marts.keys())),
            new_models=tuple(sorted(checksums.keys() - self.checksums.keys() - marts.keys())),
            changed=tuple(
                sorted(
                    name
                    for name, checksum in checksums.items()
                    if name in self.checksums and self.checksums[name] != checksum
                )
            ),
            removed_models=tuple(
                sorted(self.checksums.keys() - checksums.keys() - self.marts.keys())
            ),
        )
        self.version, self.marts, self.lineage, self.checksums = version, marts, lineage, checksums
        return change
