"""The local stage: a folder of immutable NDJSON files, one folder per landing table.

Files appear atomically (written to a temporary name, fsynced, renamed), so the
pipe never sees half a file. A batch's file name depends only on the table and
the batch number: a producer retrying a batch after a crash writes the same
name, and an existing file is never overwritten.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STAGE_SUFFIXES = (".ndjson", ".ndjson.gz")


@dataclass(frozen=True)
class StagedFile:
    table: str
    path: Path

    @property
    def name(self) -> str:
        """Path relative to the stage root, as recorded in the load history."""
        return f"{self.table}/{self.path.name}"


class LocalStage:
    def __init__(self, root: Path) -> None:
        self.root = root

    @staticmethod
    def batch_file_name(batch_number: int) -> str:
        return f"batch-{batch_number:010d}.ndjson"

    def path_for(self, table: str, batch_number: int) -> Path:
        return self.root / table / self.batch_file_name(batch_number)

    def write(self, table: str, batch_number: int, lines: list[str]) -> StagedFile:
        folder = self.root / table
        folder.mkdir(parents=True, exist_ok=True)
        final_path = self.path_for(table, batch_number)
        staged = StagedFile(table, final_path)
        if final_path.exists():
            return staged
        temp_path = folder / f".{final_path.name}.tmp"
        with open(temp_path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines))
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_path, final_path)
        return staged

    def files(self, tables: list[str]) -> list[StagedFile]:
        """Every complete file of the given tables, in name (= batch) order."""
        staged: list[StagedFile] = []
        for table in tables:
            folder = self.root / table
            if not folder.is_dir():
                continue
            staged.extend(
                StagedFile(table, path)
                for path in sorted(folder.iterdir())
                if path.name.endswith(STAGE_SUFFIXES) and not path.name.startswith(".")
            )
        return staged
