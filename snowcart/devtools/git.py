"""The few git facts pr-check needs: the checkout's root, the merge base with
main, and a throwaway worktree of it."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from snowcart.errors import ConfigError

MAIN_REFS = ("origin/main", "main")


def _git(project_dir: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            ["git", *args], cwd=project_dir, capture_output=True, text=True, timeout=120
        )
    except FileNotFoundError:
        raise ConfigError("git is not installed: pr-check compares with main through git") from None


def repository_root(project_dir: Path) -> Path:
    found = _git(project_dir, "rev-parse", "--show-toplevel")
    if found.returncode != 0:
        raise ConfigError(f"not a git repository: {project_dir} (pr-check compares with main)")
    return Path(found.stdout.strip())


def _resolves(project_dir: Path, ref: str) -> bool:
    return (
        _git(project_dir, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode == 0
    )


def main_ref(project_dir: Path, base: str | None = None) -> str:
    """--base, else origin/main when it exists, else main."""
    if base is not None:
        if not _resolves(project_dir, base):
            raise ConfigError(f"--base {base}: no such commit or branch")
        return base
    for ref in MAIN_REFS:
        if _resolves(project_dir, ref):
            return ref
    raise ConfigError(
        "no main branch to compare with (neither origin/main nor main): pass --base REF"
    )


def merge_base(project_dir: Path, ref: str) -> str:
    found = _git(project_dir, "merge-base", "HEAD", ref)
    if found.returncode != 0:
        raise ConfigError(f"no merge base between HEAD and {ref}: {found.stderr.strip()}")
    return found.stdout.strip()


@contextlib.contextmanager
def worktree(project_dir: Path, commit: str, path: Path) -> Iterator[Path]:
    """A detached worktree of `commit` at `path`, removed afterwards."""
    if path.exists():
        _git(project_dir, "worktree", "remove", "--force", str(path))
        shutil.rmtree(path, ignore_errors=True)
        _git(project_dir, "worktree", "prune")
    path.parent.mkdir(parents=True, exist_ok=True)
    added = _git(project_dir, "worktree", "add", "--detach", str(path), commit)
    if added.returncode != 0:
        message = (added.stderr.strip().splitlines() or ["git worktree add failed"])[-1]
        raise ConfigError(f"cannot create a worktree of {commit[:12]} at {path}: {message}")
    try:
        yield path
    finally:
        _git(project_dir, "worktree", "remove", "--force", str(path))
        shutil.rmtree(path, ignore_errors=True)
        _git(project_dir, "worktree", "prune")
