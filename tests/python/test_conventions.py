"""`make conventions`: dbt-score with the rules in dbt_score_rules/ and the config
in pyproject.toml, on a copy of the dbt project.

The real project passes; a new report mart fails with a line naming its file
and the fix when it lacks a description, a key test or its folder's prefix, or
reads a source; and passes once fixed. One copy serves every case: each writes
its variant's files and parses again (dbt's partial parse: a few seconds)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import BIN_DIR, PROJECT_DIR

DBT_PROJECT = ("dbt_project.yml", "models", "macros", "snapshots", "seeds", "tests/dbt", "analyses")
CONVENTIONS = ("pyproject.toml", "dbt_score_rules")
ANSI = re.compile(r"\x1b\[[0-9;]*m")

MART = "rpt_revenue_by_country_and_payment_method"
REPORTING = "models/marts/reporting"
MART_SQL = """\
with

sales as (
    select * from {{ ref('fct_sales') }}
),

payments as (
    select * from {{ ref('fct_payments') }}
),

order_payment_methods as (
    select
        order_id,
        min(payment_method) as payment_method
    from payments
    where is_authorized
    group by order_id
),

revenue as (
    select
        sales.ship_country_code as country_code,
        coalesce(order_payment_methods.payment_method, 'unpaid') as payment_method,
        sum(sales.net_revenue) as net_revenue
    from sales
    left join order_payment_methods
        on sales.order_id = order_payment_methods.order_id
    group by 1, 2
)

select * from revenue
"""
DESCRIPTION = "    description: Net revenue per ship country and payment method.\n"
KEY_TEST = """\
    data_tests:
      - unique_combination:
          arguments:
            columns: [country_code, payment_method]
"""
COLUMNS = """\
    columns:
      - name: country_code
        data_type: varchar
        description: ISO code of the country the orders shipped to.
        data_tests: [not_null]
      - name: payment_method
        data_type: varchar
        description: Method of the order's authorized payment; 'unpaid' without one.
        data_tests: [not_null]
      - name: net_revenue
        data_type: decimal(38, 4)
        description: Revenue after discounts, cancellations and returns.
"""


def mart_yaml(name: str = MART, description: bool = True, key_test: bool = True) -> str:
    return (
        f"version: 2\n\nmodels:\n  - name: {name}\n"
        + (DESCRIPTION if description else "")
        + (KEY_TEST if key_test else "")
        + COLUMNS
    )


def mart_files(name: str = MART, **yaml_options: bool) -> dict[str, str]:
    return {
        f"{REPORTING}/{name}.sql": MART_SQL,
        f"{REPORTING}/_{name}.yml": mart_yaml(name, **yaml_options),
    }


class Project:
    """A copy of the dbt project and its conventions, linted like `make conventions`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.added: list[Path] = []
        for name in (*DBT_PROJECT, *CONVENTIONS):
            source, copy = PROJECT_DIR / name, root / name
            if source.is_dir():
                shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
            elif source.exists():
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, copy)
        shutil.copy2(PROJECT_DIR / "profiles.example.yml", root / "profiles.yml")
        (root / "home").mkdir()

    def lint(self, files: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Replace the previous case's files with `files`, parse, run dbt-score."""
        for path in self.added:
            path.unlink()
        self.added = []
        for name, text in (files or {}).items():
            path = self.root / name
            path.write_text(text, encoding="utf-8")
            self.added.append(path)
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("DBT_TARGET_PATH", "DBT_LOG_PATH", "SNOWCART_TARGET")
        }
        env.update(SNOWCART_HOME=str(self.root / "home"), DBT_PROFILES_DIR=str(self.root))
        target = self.root / "target"
        parse = subprocess.run(
            [str(BIN_DIR / "dbt"), "parse", "--quiet", "--target-path", str(target)]
            + ["--log-path", str(self.root / "logs")],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert parse.returncode == 0, parse.stdout + parse.stderr
        result = subprocess.run(
            [str(BIN_DIR / "dbt-score"), "lint", "--manifest", str(target / "manifest.json")],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        result.stdout = ANSI.sub("", result.stdout)
        return result


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    return Project(tmp_path_factory.mktemp("conventions"))


def violations(result: subprocess.CompletedProcess, rule: str) -> list[str]:
    """The output lines of `rule`'s violations."""
    assert result.returncode == 1, result.stdout + result.stderr
    return [line for line in result.stdout.splitlines() if f"dbt_score_rules.{rule}:" in line]


def test_the_project_follows_its_conventions(project):
    result = project.lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Project score: 10.0" in result.stdout
    assert "WARN" not in result.stdout and "ERR" not in result.stdout


def test_a_mart_without_a_description_fails_naming_its_file(project):
    result = project.lint(mart_files(description=False))
    (line,) = violations(result, "builtin.has_description")
    assert f"{REPORTING}/{MART}.sql: Model lacks a description." in line
    assert f"add a `description:` to `{MART}` in {REPORTING}/_{MART}.yml" in line
    # The only failure: the rest of the mart follows the conventions.
    assert result.stdout.count("WARN") == 1, result.stdout


def test_a_mart_without_a_key_test_fails_naming_the_test(project):
    result = project.lint(mart_files(key_test=False))
    (line,) = violations(result, "snowcart.model_has_primary_key_test")
    assert f"{REPORTING}/{MART}.sql: no primary-key test." in line
    assert f"`data_tests: [unique, not_null]` on its key column in {REPORTING}/_{MART}.yml" in line
    assert "`unique_combination`" in line
    assert result.stdout.count("WARN") == 1, result.stdout


def test_a_mart_with_another_folders_prefix_fails(project):
    wrong = MART.replace("rpt_", "fct_", 1)
    result = project.lint(mart_files(name=wrong))
    (line,) = violations(result, "snowcart.model_prefix_matches_folder")
    assert f"{REPORTING}/{wrong}.sql: a model in {REPORTING}/ is named `rpt_...`" in line
    assert f"rename it `{MART}`" in line


def test_a_mart_reading_a_source_and_an_exposure_reading_a_private_model_fail(project):
    files = mart_files()
    files[f"{REPORTING}/{MART}.sql"] = MART_SQL.replace(
        "{{ ref('fct_payments') }}", "{{ source('shop', 'payments') }}"
    )
    files[f"{REPORTING}/_{MART}.yml"] = mart_yaml().replace(
        DESCRIPTION, DESCRIPTION + "    config:\n      contract: {enforced: false}\n"
    )
    files["models/_test_exposures.yml"] = (
        "version: 2\n\nexposures:\n  - name: sales_sheet\n    type: analysis\n"
        "    description: A spreadsheet on the facts.\n"
        "    owner: {name: Finance}\n    depends_on: [ref('fct_sales')]\n"
    )
    result = project.lint(files)
    (source,) = violations(result, "snowcart.mart_reads_no_source")
    assert f"{REPORTING}/{MART}.sql: a mart reads source('shop', 'payments')." in source
    (contract,) = violations(result, "snowcart.public_model_has_contract")
    assert "set `contract: {enforced: true}`" in contract
    (exposure,) = violations(result, "snowcart.exposure_reads_public_models")
    assert "models/_test_exposures.yml: exposure `sales_sheet` reads non-public fct_sales." in (
        exposure
    )


def test_the_fixed_mart_passes(project):
    result = project.lint(mart_files())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Project score: 10.0" in result.stdout
