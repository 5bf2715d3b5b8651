"""An edited mart redeploys its Snowflake dynamic table (dbt-labs/dbt-adapters#725:
dbt-snowflake 1.11 skips a dynamic table whose SQL changed but whose config did
not). Two versions of the project, the second with one mart's SQL edited, each
run once through dbt-snowflake against fakesnow; the second runs against
dynamic tables described as the first version deployed them.

fakesnow lists a dynamic table as a table and has no SHOW DYNAMIC TABLES, so the
copy of the project describes the deployed ones through a test double
(DESCRIBE_DOUBLE): a dynamic table with the COMMENT the first version's DDL gave
it, and the model's own config. What Snowflake stores and returns is proven only
on an account."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import sqlglot
from conftest import dbt
from sqlglot import exp
from test_pr_check import copy_working_tree

EDITED, UNCHANGED, UNFINGERPRINTED = "rpt_payments", "rpt_payments_per_minute", "rpt_funnel"
MARTS = (EDITED, UNCHANGED, UNFINGERPRINTED)
# An analyst's fix: the refund rate to six decimals (same columns and types).
OLD_LINE = "nullif(authorized_count, 0), 4) as refund_rate"
NEW_LINE = "nullif(authorized_count, 0), 6) as refund_rate"
# Replaces macros/materializations/dynamic_table_snowflake_deployed.sql in the copy.
DESCRIBE_DOUBLE = """\
{#- TEST DOUBLE of what Snowflake reports about the dynamic tables named in var
    test_double_deployed_dynamic_tables ({name: COMMENT}): fakesnow lists them as
    tables and has no SHOW DYNAMIC TABLES. Each is a dynamic table with that
    COMMENT and the model's own config (both versions share it). -#}
{% macro load_cached_relation(relation) -%}
    {%- if relation.identifier in var('test_double_deployed_dynamic_tables', {}) -%}
        {{- return(relation.incorporate(type='dynamic_table')) -}}
    {%- endif -%}
    {{- return(dbt.load_cached_relation(relation)) -}}
{%- endmacro %}

{% macro snowflake__get_dynamic_table_configuration_changes(existing_relation, new_config) -%}
    {%- if existing_relation.identifier in var('test_double_deployed_dynamic_tables', {}) -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return(dbt.snowflake__get_dynamic_table_configuration_changes(
        existing_relation, new_config)) -}}
{%- endmacro %}

{% macro deployed_dynamic_table_comment(relation) -%}
    {{- return(var('test_double_deployed_dynamic_tables')[relation.identifier]) -}}
{%- endmacro %}
"""


def test_an_edited_mart_replaces_its_dynamic_table_and_an_unchanged_one_is_left(
    tmp_path, fakesnow_port
):
    project = tmp_path / "snowcart"
    copy_working_tree(project)
    (project / "profiles.yml").write_text((project / "profiles.example.yml").read_text())
    (project / "macros/materializations/dynamic_table_snowflake_deployed.sql").unlink(
        missing_ok=True
    )
    (project / "macros/test_double_deployed_dynamic_tables.sql").write_text(DESCRIBE_DOUBLE)

    first = deploy(project, tmp_path / "first", fakesnow_port, {}, *(f"+{m}" for m in MARTS))
    deployed = {name: comment_of(first[name]) for name in (EDITED, UNCHANGED)}
    deployed[UNFINGERPRINTED] = ""  # as dbt-snowflake deployed it before the fingerprint

    mart = project / f"models/marts/reporting/{EDITED}.sql"
    assert OLD_LINE in mart.read_text()
    mart.write_text(mart.read_text().replace(OLD_LINE, NEW_LINE))
    second = deploy(project, tmp_path / "second", fakesnow_port, deployed, *MARTS)

    # The edited mart's new query goes live; an unchanged one is left as it is.
    found = ddl(second[EDITED])
    assert found, f"{EDITED}: its SQL changed, yet dbt ran {second[EDITED]['message']!r}"
    statement, replaced = found
    assert replaced.args.get("replace") and NEW_LINE in statement, statement
    assert ddl(second[UNCHANGED]) is None, second[UNCHANGED]["statements"]
    assert second[UNCHANGED]["message"].startswith("skip"), second[UNCHANGED]["message"]
    # One deployed before it carried a fingerprint is replaced once.
    assert ddl(second[UNFINGERPRINTED])[1].args.get("replace"), second[UNFINGERPRINTED]

    # Every DDL carries the md5 of the compiled SQL it deploys.
    for run in (*first.values(), second[EDITED], second[UNFINGERPRINTED]):
        md5 = hashlib.md5(run["compiled_code"].encode()).hexdigest()
        assert comment_of(run) == f"snowcart:compiled_sql_md5={md5}", ddl(run)[0]
    assert comment_of(second[EDITED]) != deployed[EDITED]

    # Everything the materialization ran parses as Snowflake SQL.
    for run in (*first.values(), *second.values()):
        for statement in run["statements"]:
            parsed = sqlglot.parse_one(statement, read="snowflake")
            assert not isinstance(parsed, exp.Command), statement


def deploy(project: Path, target: Path, port: int, deployed: dict, *select: str) -> dict:
    """One `dbt run` on fakesnow: each selected mart's result, compiled SQL and
    the statements run for it (from dbt's JSON debug log)."""
    variables = {"test_double_deployed_dynamic_tables": deployed} if deployed else {}
    result = dbt(
        "--log-format", "json", "--log-level", "debug", "run", "--target", "fakesnow",
        "--project-dir", str(project), "--profiles-dir", str(project),
        "--target-path", str(target), "--select", *select, "--vars", json.dumps(variables),
        home=target, FAKESNOW_PORT=str(port),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-5000:]
    runs = {
        run["unique_id"].split(".")[-1]: {**run, "statements": []}
        for run in json.loads((target / "run_results.json").read_text())["results"]
    }
    for line in result.stdout.splitlines():
        event = json.loads(line) if line.startswith("{") else {}
        if event.get("info", {}).get("name") == "SQLQuery":
            node = (event["data"].get("node_info") or {}).get("unique_id", "")
            if node.split(".")[-1] in MARTS:
                runs[node.split(".")[-1]]["statements"].append(event["data"]["sql"])
    return {name: runs[name] for name in MARTS}


def ddl(run: dict) -> tuple[str, exp.Create] | None:
    """The CREATE [OR REPLACE] DYNAMIC TABLE run for a mart, if any, as run and parsed."""
    found = [
        (statement, parsed)
        for statement in run["statements"]
        if isinstance(parsed := sqlglot.parse_one(statement, read="snowflake"), exp.Create)
        and parsed.find(exp.DynamicProperty)
    ]
    assert len(found) <= 1, found
    return found[0] if found else None


def comment_of(run: dict) -> str:
    """The COMMENT its DDL gave a mart ('' for none): what Snowflake would keep."""
    found = ddl(run)
    comment = found[1].find(exp.SchemaCommentProperty) if found else None
    return comment.this.name if comment is not None else ""
