"""The local stage: a folder of immutable NDJSON files, one folder per landing table.

Files appear atomically (written to a temporary name, fsynced, renamed), so the
pipe never sees half a file. A batch's file name depends only on the table and
the batch number: a producer retrying a batch after a crash writes the same
name, and an existing file is never overwritten.

What is loaded, and what is not (`LocalStage.listing`): a regular file directly
in a landing table's folder named `*.ndjson` or `*.ndjson.gz` (case-sensitive),
or a symlink there to such a file inside the stage. Every other entry under the
stage root is skipped with a reason: files at the root, in other folders or in
subfolders, other extensions, directories, FIFOs and devices, dangling symlinks
and symlinks out of the stage (never followed). Hidden entries (`.name`) are
writes in progress and are passed over in silence.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

STAGE_SUFFIXES = (".ndjson", ".ndjson.gz")
OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True)
class StagedFile:
    table: str
    path: Path
    # Where a symlink inside the stage leads; None when `path` is the file itself.
    target: Path | None = None

    @property
    def name(self) -> str:
        """Path relative to the stage root, as recorded in the load history."""
        return f"{self.table}/{self.path.name}"


@dataclass(frozen=True)
class SkippedEntry:
    """An entry of the stage that is not loaded, and why."""

    name: str  # relative to the stage root
    reason: str
    size: int = 0  # bytes, for a regular file

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


@dataclass
class StageListing:
    files: list[StagedFile] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)


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
        return self.listing(tables).files

    def listing(self, tables: list[str]) -> StageListing:
        """The files of the given tables to load, in name (= batch) order, and
        every other entry under the stage root with the reason it is not loaded."""
        listing = StageListing()
        try:
            entries = _entries(self.root)
        except (FileNotFoundError, NotADirectoryError):
            return listing
        root = os.path.realpath(self.root)
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name in tables:
                    self._table_folder(entry.name, root, listing)
                else:
                    _walk(Path(entry.path), entry.name, _folder_reason(entry.name, tables), listing)
            elif entry.is_symlink() and os.path.isdir(entry.path):
                listing.skipped.append(
                    SkippedEntry(
                        entry.name,
                        f"a symlink to a folder ({os.readlink(entry.path)}): not followed; "
                        "a landing table's folder must be a folder inside the stage",
                    )
                )
            else:
                reason = "at the stage root: stage files go in a landing table's folder (<table>/)"
                listing.skipped.append(SkippedEntry(entry.name, reason, _size(entry)))
        return listing

    def _table_folder(self, table: str, root: str, listing: StageListing) -> None:
        try:
            entries = _entries(self.root / table)
        except OSError as error:
            listing.skipped.append(SkippedEntry(f"{table}/", f"cannot list it: {error.strerror}"))
            return
        for entry in entries:
            name = f"{table}/{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                if entry.name.lower().endswith(STAGE_SUFFIXES):
                    listing.skipped.append(SkippedEntry(name, "a directory, not a file"))
                reason = (
                    f"in a subfolder of '{table}/': only the files directly in a landing "
                    "table's folder are loaded"
                )
                _walk(Path(entry.path), name, reason, listing)
                continue
            problem = _name_problem(entry.name)
            if problem is None and entry.is_symlink():
                target, problem = _follow(Path(entry.path), root)
                if target is not None:
                    listing.files.append(StagedFile(table, Path(entry.path), target))
                    continue
            elif problem is None and not entry.is_file(follow_symlinks=False):
                problem = f"not a regular file ({_kind(entry.stat(follow_symlinks=False).st_mode)})"
            if problem is None:
                listing.files.append(StagedFile(table, Path(entry.path)))
            else:
                listing.skipped.append(SkippedEntry(name, problem, _size(entry)))

    def open(self, staged: StagedFile) -> BinaryIO:
        """The file, for reading. It is reached from the stage root one folder
        at a time without following any symlink, so what is opened is inside the
        stage even if entries are swapped after the listing; OSError otherwise."""
        root = os.path.realpath(self.root)
        if staged.target is None:
            relative = staged.path.relative_to(self.root)
        else:
            real = os.path.realpath(staged.target)
            if not _inside(real, root):
                raise OSError(errno.EXDEV, "its symlink now leads out of the stage")
            relative = Path(real).relative_to(root)
        folder = os.open(root, OPEN_FLAGS | os.O_DIRECTORY)
        try:
            for part in relative.parts[:-1]:
                inner = os.open(part, OPEN_FLAGS | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
                os.close(folder)
                folder = inner
            # O_NONBLOCK: a FIFO swapped in would block the open until a writer came.
            descriptor = os.open(
                relative.parts[-1], OPEN_FLAGS | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder
            )
        finally:
            os.close(folder)
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            os.close(descriptor)
            raise OSError(errno.EINVAL, f"not a regular file ({_kind(mode)})")
        return os.fdopen(descriptor, "rb")


def glob_free(path: Path | str) -> str:
    """`path` for DuckDB's file readers, which expand `*`, `?` and `[...]`: each
    as a one-character class (`[*]`), so the name reads only the file it names."""
    return re.sub(r"([*?\[])", r"[\1]", str(path))


def unreadable(error: OSError) -> str:
    """Why a listed file cannot be loaded, from the error opening or reading it."""
    if error.errno == errno.ELOOP:
        return "cannot be read: it is now a symlink; not followed"
    return f"cannot be read: {error.strerror or error}"


def _entries(folder: Path) -> list[os.DirEntry]:
    """The folder's entries in name order, hidden ones (writes in progress) left out."""
    with os.scandir(folder) as scan:
        return sorted((entry for entry in scan if not entry.name.startswith(".")), key=_name)


def _name(entry: os.DirEntry) -> str:
    return entry.name


def _walk(folder: Path, name: str, reason: str, listing: StageListing) -> None:
    """Every file-like entry under a folder the pipe does not read, skipped with
    `reason`; symlinked folders are reported, not followed."""
    todo = [(folder, name)]
    while todo:
        path, prefix = todo.pop()
        try:
            entries = _entries(path)
        except OSError as error:
            listing.skipped.append(
                SkippedEntry(prefix, f"{reason} (cannot list it: {error.strerror})")
            )
            continue
        for entry in reversed(entries):
            inner = f"{prefix}/{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                todo.append((Path(entry.path), inner))
            else:
                listing.skipped.append(SkippedEntry(inner, reason, _size(entry)))


def _folder_reason(folder: str, tables: list[str]) -> str:
    same = [table for table in tables if table.lower() == folder.lower()]
    if same:
        return (
            f"in folder '{folder}/': folder names are case-sensitive, the landing table's "
            f"is '{same[0]}/'"
        )
    return (
        f"in folder '{folder}/', which is not a landing table "
        f"(those are: {', '.join(sorted(tables))})"
    )


def _name_problem(name: str) -> str | None:
    if name.endswith(STAGE_SUFFIXES):
        return None
    if name.lower().endswith(STAGE_SUFFIXES):
        return "extension in other case: file names are case-sensitive (*.ndjson, *.ndjson.gz)"
    suffix = Path(name).suffix
    if not suffix:
        return "no extension: only *.ndjson and *.ndjson.gz files are loaded"
    return f"extension '{suffix}' is not loaded: only *.ndjson and *.ndjson.gz files are"


def _follow(link: Path, root: str) -> tuple[Path | None, str | None]:
    """Where a symlink leads if that is a file inside the stage, else why not.
    Out of the stage is checked first: nothing outside is even looked at."""
    target = os.readlink(link)
    real = os.path.realpath(link)
    if not _inside(real, root):
        return None, f"symlink to {target}, outside the stage: not followed"
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        return None, f"dangling symlink (to {target}): nothing to load"
    except OSError as error:
        return None, f"symlink to {target} cannot be followed: {error.strerror}"
    if not stat.S_ISREG(mode):
        return None, f"symlink to {_kind(mode)} ({target}), not a file"
    return Path(real), None


def _inside(path: str, root: str) -> bool:
    return path != root and os.path.commonpath([path, root]) == root


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


def _size(entry: os.DirEntry) -> int:
    try:
        return (
            entry.stat(follow_symlinks=False).st_size if entry.is_file(follow_symlinks=False) else 0
        )
    except OSError:
        return 0
