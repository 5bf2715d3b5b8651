"""`make pr-check` (scripts/pr_check.py): slim CI against main's state, in a
throwaway clone of this checkout whose main is the current working tree
(uncommitted changes included) and whose branches add or change models."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import BIN_DIR, PROJECT_DIR

NEW_MART = "rpt_revenue_by_ship_country"
MART_SQL = """-- Net revenue and orders per ship-to country.
select
    ship_country_code,
    count(distinct order_id) as order_count,
    cast(sum(net_revenue) as {{ sql_type('money') }}) as net_revenue
from {{ ref('fct_sales') }}
group by ship_country_code
"""
MART_YAML = f"""version: 2

models:
  - name: {NEW_MART}
    description: Orders and net revenue per ship-to country (ISO code).
    columns:
      - name: ship_country_code
        data_type: varchar
        description: ISO code of the ship-to country; '-1' when unrecognised.
        data_tests: [unique, not_null]
      - name: order_count
        data_type: bigint
        description: Distinct orders shipped to the country.
      - name: net_revenue
        data_type: decimal(38, 4)
        description: Net revenue of those orders.
"""
SKIPPED = (".git", ".venv", ".snowcart", "target", "artifacts", "logs", "build")


def git(clone: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.email=test@example.com", "-c", "user.name=test", *args],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def copy_working_tree(clone: Path) -> None:
    """Tracked and untracked (not ignored) files of this checkout as they are now."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_DIR, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for relative in filter(None, listed):
        if relative.split("/")[0] in SKIPPED:
            continue
        source, copy = PROJECT_DIR / relative, clone / relative
        if source.is_file():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy)
        elif copy.exists():
            copy.unlink()  # deleted in the working tree


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    clone = tmp_path_factory.mktemp("pr_check") / "snowcart"
    subprocess.run(["git", "clone", "-q", str(PROJECT_DIR), str(clone)], check=True)
    copy_working_tree(clone)
    git(clone, "remote", "remove", "origin")  # main: the working tree, not origin's main
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "--allow-empty", "-m", "the working tree as main")
    git(clone, "branch", "-M", "main")
    shutil.copy2(clone / "profiles.example.yml", clone / "profiles.yml")
    return clone


def branch(clone: Path, name: str, files: dict[str, str]) -> None:
    git(clone, "checkout", "-q", "-B", name, "main")
    for relative, text in files.items():
        (clone / relative).write_text(text, encoding="utf-8")
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", name)


def pr_check(clone: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "SNOWCART_PROJECT_DIR": str(clone)}
    for name in ("SNOWCART_TARGET", "SNOWCART_HOME", "DBT_TARGET_PATH", "DBT_PROFILES_DIR"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, str(PROJECT_DIR / "scripts" / "pr_check.py"), *args],
        cwd=clone, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def selected(output: str) -> dict[str, str]:
    """Node name -> reason, from pr-check's selection table."""
    rows = [line.split(None, 2) for line in output.splitlines() if line.startswith("  ")]
    return {row[1]: row[2] for row in rows if len(row) == 3}


def test_new_mart_is_built_alone_deferring_to_main(clone):
    folder = "models/marts/reporting"
    branch(clone, "analyst/new-mart",
           {f"{folder}/{NEW_MART}.sql": MART_SQL, f"{folder}/{NEW_MART}.yml": MART_YAML})  # fmt: skip
    result = pr_check(clone, "--no-conventions")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    nodes = selected(result.stdout)
    assert nodes[NEW_MART] == "new"
    assert set(nodes) == {
        NEW_MART,
        f"unique_{NEW_MART}_ship_country_code",
        f"not_null_{NEW_MART}_ship_country_code",
    }, result.stdout
    run_results = clone / "artifacts/pr-check/scratch/target-build/run_results.json"
    results = json.loads(run_results.read_text())["results"]
    built = {
        r["unique_id"].split(".")[2]: r["status"]
        for r in results
        if not r["unique_id"].startswith("operation.")  # the on-run-start hook
    }
    assert set(built) == set(nodes)  # fct_sales and the rest were deferred, not rebuilt
    assert set(built.values()) <= {"success", "pass"}, built
    compiled = next(
        (clone / "artifacts/pr-check/scratch/target-build/run").rglob(f"{NEW_MART}.sql")
    )
    assert '"warehouse"."analytics"."fct_sales"' in compiled.read_text()
    # The second run reuses main's cached state (no worktree, no simulation).
    again = pr_check(clone, "--no-conventions", "--list-only")
    assert again.returncode == 0, again.stderr
    assert "cached in" in again.stdout and "building main's state" not in again.stdout
    assert not (clone / "artifacts/pr-check").joinpath("worktree").exists()
    assert "worktree" not in git(clone, "worktree", "list").split("\n", 1)[-1]


def test_modified_staging_model_selects_its_children(clone):
    model = "models/staging/shop/stg_shop__payments.sql"
    original = (clone / model).read_text()
    changed = "select * from (\n" + original.strip() + "\n) as valid_payments\n"
    branch(clone, "analyst/payments", {model: changed})
    result = pr_check(clone, "--no-conventions", "--list-only")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    nodes = selected(result.stdout)
    assert nodes["stg_shop__payments"] == "modified"
    assert nodes["fct_payments"] == "downstream of stg_shop__payments"
    assert nodes["rpt_payments"] == "downstream of stg_shop__payments"
    assert "fct_sales" not in nodes and NEW_MART not in nodes
    assert not any(name.startswith("stg_shop__orders") for name in nodes)


def test_without_a_production_manifest_everything_is_built(clone, tmp_path):
    git(clone, "checkout", "-q", "main")
    result = pr_check(clone, "--state", str(tmp_path), "--list-only", "--no-conventions")
    assert result.returncode == 0, result.stderr
    assert "no production manifest" in result.stdout and "EVERYTHING" in result.stdout


def test_errors_are_one_line(clone, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy2(clone / "dbt_project.yml", bare / "dbt_project.yml")
    shutil.copy2(clone / "profiles.example.yml", bare / "profiles.example.yml")
    for folder, args, message in (
        (bare, [], "not a git repository"),
        (clone, ["--base", "no-such-branch"], "--base no-such-branch: no such commit"),
        (clone, ["--target", "fakesnow"], "pass --schema"),
    ):
        result = pr_check(folder, *args)
        assert result.returncode != 0
        assert message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_snowflake_pr_schemas_are_suffixed_and_dropped(clone, tmp_path, fakesnow_port):
    """Per-PR schemas on the Snowflake adapter: every model's schema carries
    the suffix, and drop_pr_schemas drops exactly those (fakesnow)."""
    import snowflake.connector

    from snowcart.engines.snowflake.connection import SnowflakeConfig

    git(clone, "checkout", "-q", "main")
    env = {**os.environ, "FAKESNOW_PORT": str(fakesnow_port), "SNOWCART_HOME": str(tmp_path)}
    env.pop("DBT_TARGET_PATH", None)
    listed = subprocess.run(
        [str(BIN_DIR / "dbt"), "ls", "--target", "fakesnow", "--resource-type", "model",
         "--vars", "{pr_schema: pr_7}", "--output", "json", "--output-keys", "name schema",
         "--quiet", "--target-path", str(tmp_path / "target"), "--profiles-dir", str(clone)],
        cwd=clone, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stdout + listed.stderr
    schemas = {json.loads(line)["schema"] for line in listed.stdout.splitlines()}
    assert "analytics_pr_7" in schemas and "staging_pr_7" in schemas
    assert all(schema.endswith("_pr_7") for schema in schemas), schemas

    config = SnowflakeConfig.for_fakesnow(fakesnow_port)
    with snowflake.connector.connect(**config.connect_args("raw")) as con:
        for schema in ("analytics", "analytics_pr_7", "staging_pr_7"):
            con.cursor().execute(f"create schema if not exists snowcart.{schema}")
    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "scripts" / "pr_check.py"), "--drop-only",
         "--target", "fakesnow", "--schema", "pr_7"],
        cwd=clone, env={**env, "SNOWCART_PROJECT_DIR": str(clone)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    with snowflake.connector.connect(**config.connect_args("raw")) as con:
        rows = con.cursor().execute("select schema_name from snowcart.information_schema.schemata")
        left = {row[0].lower() for row in rows.fetchall()}
    assert "analytics" in left
    assert not {"analytics_pr_7", "staging_pr_7"} & left, left


ANALYST_PR = PROJECT_DIR / "tests" / "python" / "fixtures" / "analyst_pr"
ANALYST_MART = "rpt_revenue_by_country_and_payment_method"


def analyst_files(yaml_text: str) -> dict[str, str]:
    folder = "models/marts/reporting"
    return {
        f"{folder}/{ANALYST_MART}.sql": (ANALYST_PR / f"{ANALYST_MART}.sql").read_text(),
        f"{folder}/_{ANALYST_MART}.yml": yaml_text,
    }


def without_lines(text: str, first: str, until: str) -> str:
    """`text` less the lines from the one starting with `first` up to (not
    including) the next one starting with `until`."""
    lines, kept, dropping = text.splitlines(keepends=True), [], False
    for line in lines:
        if line.startswith(first):
            dropping = True
        elif dropping and line.startswith(until):
            dropping = False
        if not dropping:
            kept.append(line)
    assert len(kept) < len(lines), f"{first!r} not in the fixture"
    return "".join(kept)


def test_an_analysts_pull_request_fails_the_conventions_then_builds_alone(clone):
    """The worked example of CONTRIBUTING.md as a pull request: first without
    the model's description and its key test (pr-check builds it, then the
    conventions name both and fail the check), then as documented (green, with
    exactly the new mart and its tests built, deferring to main)."""
    complete = (ANALYST_PR / f"{ANALYST_MART}.yml").read_text()
    draft = without_lines(complete, "    description: >", "    data_tests:")
    draft = without_lines(draft, "      - unique_combination:", "      - equal_sum:")

    branch(clone, "analyst/revenue-by-country-draft", analyst_files(draft))
    failed = pr_check(clone)
    assert failed.returncode != 0, failed.stdout[-3000:]
    lines = [line for line in failed.stdout.splitlines() if ANALYST_MART in line]
    assert any("description" in line for line in lines), failed.stdout[-3000:]
    assert any("primary-key" in line or "unique" in line for line in lines), failed.stdout[-3000:]

    branch(clone, "analyst/revenue-by-country", analyst_files(complete))
    passed = pr_check(clone)
    assert passed.returncode == 0, passed.stdout[-3000:] + passed.stderr
    nodes = selected(passed.stdout)
    assert nodes[ANALYST_MART] == "new"
    # The mart and its own tests (new too), nothing else.
    assert all(ANALYST_MART in name for name in nodes), nodes
    assert len(nodes) == 1 + 8, nodes  # the fixture's 8 data tests
    results = json.loads(
        (clone / "artifacts/pr-check/scratch/target-build/run_results.json").read_text()
    )["results"]
    built = {r["unique_id"].split(".")[2]: r["status"] for r in results
             if not r["unique_id"].startswith("operation.")}  # fmt: skip
    assert set(built) == set(nodes)  # nothing unmodified was rebuilt
    assert set(built.values()) <= {"success", "pass"}, built


def test_a_changed_base_model_reads_mains_landing_tables(clone):
    """dbt defers models, never sources: the PR's base model must read main's
    landing rows (var raw_database), not the scratch file's empty tables."""
    model = "models/staging/shop/base/base_shop__payments.sql"
    original = (clone / model).read_text()
    branch(clone, "analyst/base-payments", {model: original + "\n-- reviewed\n"})
    result = pr_check(clone, "--no-conventions")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert selected(result.stdout)["base_shop__payments"] == "modified"

    def rows(database: Path) -> int:
        with duckdb.connect(str(database), read_only=True) as con:
            [(schema,)] = con.execute(
                "select table_schema from information_schema.tables"
                " where table_name = 'base_shop__payments'"
            ).fetchall()
            return con.execute(f'select count(*) from "{schema}".base_shop__payments').fetchone()[0]

    [main_warehouse] = (clone / "artifacts/pr-check").glob("*/home/warehouse.duckdb")
    scratch = clone / "artifacts/pr-check/scratch/home/pr_scratch.duckdb"
    assert rows(scratch) == rows(main_warehouse) > 0


def test_a_pr_build_on_snowflake_never_reads_a_production_stream(clone, tmp_path, fakesnow_port):
    """Sources are never suffixed: a PR schema's incremental base model would
    MERGE from production's stream and move its offset. With var pr_schema it
    reads the landing table instead (compiled after a first build, so
    is_incremental() is true; fakesnow runs first builds only)."""
    git(clone, "checkout", "-q", "main")
    env = {**os.environ, "FAKESNOW_PORT": str(fakesnow_port), "SNOWCART_HOME": str(tmp_path),
           "SNOWCART_REPORTER_ROLE": ""}  # fmt: skip
    env.pop("DBT_TARGET_PATH", None)
    common = ["--target", "fakesnow", "--vars", "{pr_schema: pr_9}", "--select", "base_shop__orders",
              "--target-path", str(tmp_path / "target"), "--profiles-dir", str(clone)]  # fmt: skip
    for command in ("build", "compile"):
        done = subprocess.run([str(BIN_DIR / "dbt"), command, *common], cwd=clone, env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    compiled = next((tmp_path / "target" / "compiled").rglob("base_shop__orders.sql")).read_text()
    assert "from snowcart.raw.orders\n" in compiled.lower(), compiled
    assert "orders__base_shop__orders" not in compiled.lower(), compiled
