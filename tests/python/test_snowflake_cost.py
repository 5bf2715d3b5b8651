"""What the dynamic tables cost on Snowflake (issue #13, point 7): every one
states its refresh mode, and why when it is FULL; the INCREMENTAL ones use
only what Snowflake refreshes incrementally; the resource monitor's quota
covers a month of the credits their lags imply. One `dbt compile` through
dbt-snowflake (against a fakesnow server) serves the whole module."""

from __future__ import annotations

import json
import re
import sys

import pytest
import sqlglot
from conftest import PROJECT_DIR, dbt, fakesnow_server, run
from sqlglot import exp
from test_setup import NO_SNOWFLAKE_ENV

from snowcart.engines.snowflake import plan as snowflake_plan
from snowcart.engines.snowflake.statements import render_script

# https://docs.snowflake.com/en/user-guide/dynamic-tables/supported-queries
# ("Incremental and full refresh support matrix", "Supported non-deterministic
# functions", "What causes fallback to full refresh"; read 2026-12). A view a
# dynamic table reads is part of its query, so its SQL is checked too.
SUPPORTED_QUERIES = "https://docs.snowflake.com/en/user-guide/dynamic-tables/supported-queries"
UNSUPPORTED = {
    "subquery outside FROM": "all subquery operators (WHERE EXISTS, IN (SELECT ...), scalar)",
    "EXCEPT / MINUS / INTERSECT": "set operators other than UNION and UNION ALL",
    "LIMIT / TOP / FETCH": "row limits",
    "ROLLUP / CUBE / GROUPING SETS": "grouping extensions",
    "WITH RECURSIVE": "recursive common table expressions",
    "CONNECT BY": "hierarchical queries",
    "UNPIVOT": "UNPIVOT",
    "SAMPLE / TABLESAMPLE": "sampling",
    "LATERAL without FLATTEN": "lateral joins other than LATERAL FLATTEN",
    "outer join on a non-equality predicate": "outer joins support equality predicates only",
    "non-deterministic function": "RANDOM, UUID_STRING, sequences, ANY_VALUE, the session's "
    "role, user, warehouse, account or region",
    "current date or time outside WHERE / HAVING / QUALIFY": "CURRENT_TIMESTAMP, _DATE, _TIME "
    "are supported only as filters",
    "RANK / DENSE_RANK / PERCENT_RANK with a window frame": "ranking over a sliding frame",
}
# https://docs.snowflake.com/en/user-guide/dynamic-tables-performance-optimize-query
# ("Optimize window functions", "Operator reference"): allowed in INCREMENTAL
# mode, but recomputed in full on every refresh, so FULL costs less.
RECOMPUTED_IN_FULL = {
    "window without PARTITION BY": "window functions without PARTITION BY result in a full "
    "recomputation",
    "scalar aggregate": "scalar aggregates are fully recomputed when their input changes",
}

CURRENT_TIME = (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime)
NON_DETERMINISTIC = (
    exp.Rand,
    exp.Uuid,
    exp.AnyValue,
    exp.CurrentRole,
    exp.CurrentUser,
    exp.CurrentWarehouse,
    exp.CurrentAccount,
    exp.CurrentRegion,
    exp.Seq1,
    exp.Seq2,
    exp.Seq4,
    exp.Seq8,
)
RANKING = (exp.Rank, exp.DenseRank, exp.PercentRank)
FILTERS = (exp.Where, exp.Having, exp.Qualify)

# https://docs.snowflake.com/en/user-guide/warehouses-overview (credits per
# hour by size; per-second billing with a 60 s minimum each time it resumes).
CREDITS_PER_HOUR = {"XSMALL": 1, "SMALL": 2, "MEDIUM": 4, "LARGE": 8, "XLARGE": 16}
MINIMUM_BILLED_S = 60
WAREHOUSE_SQL = PROJECT_DIR / "snowcart/engines/snowflake/sql/warehouse.sql"
LAG_UNITS_S = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    """dbt-snowflake's manifest, with the compiled SQL of every dynamic table
    and of everything upstream of them (a fakesnow server answers the
    adapter's questions while it compiles)."""
    home = tmp_path_factory.mktemp("snowflake_cost")
    with fakesnow_server(home / "fakesnow.log") as port:
        target = home / "target"
        result = dbt(
            "compile", "--target", "fakesnow", "--target-path", str(target),
            "--select", "+config.materialized:dynamic_table",
            home=home, FAKESNOW_PORT=str(port),
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:]
        return json.loads((target / "manifest.json").read_text())


def dynamic_tables(manifest: dict) -> dict[str, dict]:
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "dynamic_table"
    }


def refresh_mode(node: dict) -> str:
    """What dbt-snowflake writes as REFRESH_MODE (it upper-cases the config;
    without one Snowflake's default, AUTO, applies)."""
    return str(node["config"].get("refresh_mode") or "AUTO").upper()


def query_sql(manifest: dict, node: dict) -> dict[str, str]:
    """The compiled SQL of a dynamic table and of every view it reads, through
    views: Snowflake refreshes the view's query as part of the table's."""
    found: dict[str, str] = {}
    pending = [node["unique_id"]]
    while pending:
        current = manifest["nodes"][pending.pop()]
        found[current["name"]] = current["compiled_code"]
        for parent_id in current["depends_on"]["nodes"]:
            parent = manifest["nodes"].get(parent_id)
            is_view = parent is not None and parent["config"].get("materialized") == "view"
            if is_view and parent["name"] not in found:
                pending.append(parent_id)
    return found


def under_filter(node: exp.Expression) -> bool:
    """Whether `node` sits in a WHERE, HAVING or QUALIFY of its own SELECT."""
    parent = node.parent
    while parent is not None and not isinstance(parent, exp.Select):
        if isinstance(parent, FILTERS):
            return True
        parent = parent.parent
    return False


def equality_only(condition: exp.Expression | None) -> bool:
    if condition is None:
        return True
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.And):
        return equality_only(condition.left) and equality_only(condition.right)
    return isinstance(condition, exp.EQ)


def subquery_outside_from(node: exp.Expression) -> bool:
    if isinstance(node, exp.Subquery):
        return not isinstance(node.parent, (exp.From, exp.Join))
    return isinstance(node, exp.Exists) or (
        isinstance(node, exp.In) and bool(node.args.get("query"))
    )


def scalar_aggregates(select: exp.Select) -> bool:
    """An aggregate in a SELECT without GROUP BY (not inside a window)."""
    if select.args.get("group"):
        return False
    for projection in select.expressions:
        for aggregate in projection.find_all(exp.AggFunc):
            if not aggregate.find_ancestor(exp.Window):
                return True
    return False


def incremental_blockers(sql: str) -> list[str]:
    """The constructs of UNSUPPORTED and RECOMPUTED_IN_FULL in one query."""
    tree = sqlglot.parse_one(sql, read="snowflake")
    found: list[str] = []
    for node in tree.walk():
        if subquery_outside_from(node):
            found.append("subquery outside FROM")
        elif isinstance(node, (exp.Except, exp.Intersect)):
            found.append("EXCEPT / MINUS / INTERSECT")
        elif isinstance(node, (exp.Limit, exp.Fetch)):
            found.append("LIMIT / TOP / FETCH")
        elif isinstance(node, (exp.Rollup, exp.Cube, exp.GroupingSets)):
            found.append("ROLLUP / CUBE / GROUPING SETS")
        elif isinstance(node, exp.With) and node.args.get("recursive"):
            found.append("WITH RECURSIVE")
        elif isinstance(node, exp.Connect):
            found.append("CONNECT BY")
        elif isinstance(node, exp.Pivot) and node.args.get("unpivot"):
            found.append("UNPIVOT")
        elif isinstance(node, exp.TableSample):
            found.append("SAMPLE / TABLESAMPLE")
        elif isinstance(node, exp.Lateral) and not isinstance(node.this, exp.Explode):
            found.append("LATERAL without FLATTEN")
        elif isinstance(node, exp.Join) and node.side and not equality_only(node.args.get("on")):
            found.append("outer join on a non-equality predicate")
        elif isinstance(node, NON_DETERMINISTIC) or (
            isinstance(node, exp.Column) and node.name.lower() == "nextval"
        ):
            found.append("non-deterministic function")
        elif isinstance(node, CURRENT_TIME) and not under_filter(node):
            found.append("current date or time outside WHERE / HAVING / QUALIFY")
        elif isinstance(node, exp.Window):
            if isinstance(node.this, RANKING) and node.args.get("spec"):
                found.append("RANK / DENSE_RANK / PERCENT_RANK with a window frame")
            if not node.args.get("partition_by"):
                found.append("window without PARTITION BY")
        elif isinstance(node, exp.Select) and scalar_aggregates(node):
            found.append("scalar aggregate")
    return sorted(set(found))


def lag_seconds(target_lag: str | None) -> int | None:
    """Seconds in a Snowflake TARGET_LAG; None for DOWNSTREAM or none (the
    table then refreshes only with a dependent, or only by hand)."""
    text = str(target_lag or "downstream").strip().lower()
    if text == "downstream":
        return None
    number, unit = text.split()
    return int(number) * LAG_UNITS_S[unit.removesuffix("s")]


def warehouse_settings() -> tuple[str, int]:
    """WAREHOUSE_SIZE and AUTO_SUSPEND (seconds) of the warehouse setup creates."""
    sql = WAREHOUSE_SQL.read_text(encoding="utf-8")
    size = re.search(r"WAREHOUSE_SIZE\s*=\s*'?(\w+)", sql).group(1).upper().replace("-", "")
    return size, int(re.search(r"AUTO_SUSPEND\s*=\s*(\d+)", sql).group(1))


def streaming_credits_per_day(lags_s: list[int], size: str, auto_suspend_s: int) -> float:
    """Warehouse credits a day while data streams. The shortest-lag table
    refreshes at least once per lag, and tables whose lags are multiples of it
    refresh on the same instants (Snowflake aligns them), so it decides how
    often the warehouse resumes. Each resume holds it at least its 60 s
    minimum, and AUTO_SUSPEND after the refresh: a lag no longer than that
    never lets it suspend."""
    held_s = max(MINIMUM_BILLED_S, auto_suspend_s)
    busy = min(1.0, held_s / min(lags_s))
    return 24 * CREDITS_PER_HOUR[size] * busy


def monitor_quota(script: str) -> int:
    return int(re.search(r"CREATE RESOURCE MONITOR .*?CREDIT_QUOTA = (\d+)", script, re.S)[1])


# ---- (a) explicit refresh modes


def test_every_dynamic_table_states_its_refresh_mode_and_why_when_full(manifest):
    """AUTO picks INCREMENTAL or FULL once, at creation, and may change between
    Snowflake releases; FULL recomputes everything on every refresh. So each
    mart says which it is, and a FULL one says why in meta.refresh_mode_reason."""
    tables = dynamic_tables(manifest)
    assert len(tables) >= 16
    problems = []
    for name, node in sorted(tables.items()):
        mode = refresh_mode(node)
        reason = (node["config"].get("meta") or {}).get("refresh_mode_reason")
        if mode not in ("INCREMENTAL", "FULL"):
            problems.append(f"{name}: refresh_mode {mode}, not INCREMENTAL or FULL")
        elif mode == "FULL" and not (isinstance(reason, str) and reason.strip()):
            problems.append(f"{name}: FULL without meta.refresh_mode_reason")
        if node["config"].get("target_lag") is None:
            problems.append(f"{name}: no target_lag (Snowflake would never refresh it)")
    assert not problems, "\n".join(problems)


# ---- (b) what INCREMENTAL (or AUTO) queries may contain


def test_the_checker_finds_each_construct_in_snowflakes_lists():
    cases = {
        "select * from t where a in (select a from u)": "subquery outside FROM",
        "select a from t minus select a from u": "EXCEPT / MINUS / INTERSECT",
        "select top 5 a from t": "LIMIT / TOP / FETCH",
        "select a, sum(b) from t group by rollup (a)": "ROLLUP / CUBE / GROUPING SETS",
        "with recursive r as (select 1 as a) select a from r": "WITH RECURSIVE",
        "select * from a left join b on a.id = b.id and a.t >= b.valid_from":
            "outer join on a non-equality predicate",
        "select uuid_string() as id, a from t": "non-deterministic function",
        "select current_timestamp() as at, a from t": (
            "current date or time outside WHERE / HAVING / QUALIFY"
        ),
        "select a, row_number() over (order by a) as n from t": "window without PARTITION BY",
        "select rank() over (partition by a order by b rows between 2 preceding and current row)"
            " as r from t": "RANK / DENSE_RANK / PERCENT_RANK with a window frame",
        "with x as (select max(a) as m from t) select * from t cross join x": "scalar aggregate",
    }  # fmt: skip
    for sql, construct in cases.items():
        assert construct in {**UNSUPPORTED, **RECOMPUTED_IN_FULL}
        assert incremental_blockers(sql) == [construct], sql
    allowed = (
        "select t.a, count(distinct t.b) as n, sum(t.c) over (partition by t.a) as s"
        " from t inner join u on t.a = u.a left join v on upper(t.x) = v.y"
        " where t.at > current_timestamp() - interval '1 day' group by t.a, t.c"
        " union select a, 1, 2 from w"
    )
    assert incremental_blockers(allowed) == []


def test_each_refresh_mode_matches_what_snowflake_can_refresh_incrementally(manifest):
    """INCREMENTAL (or AUTO, which would fall back to FULL without a word) only
    for a query, views included, free of the constructs Snowflake lists as
    unsupported for incremental refresh or as recomputed in full on every
    refresh; FULL only for a query holding one of them."""
    problems = []
    for name, node in sorted(dynamic_tables(manifest).items()):
        mode = refresh_mode(node)
        blockers = [
            construct + ("" if relation == name else f" (in view {relation})")
            for relation, sql in query_sql(manifest, node).items()
            for construct in incremental_blockers(sql)
        ]
        if mode != "FULL":
            problems += [f"{name} [{mode}]: {blocker}" for blocker in blockers]
        elif not blockers:
            problems.append(f"{name} [FULL]: nothing in its query rules out INCREMENTAL")
    assert not problems, f"see {SUPPORTED_QUERIES}:\n" + "\n".join(problems)


# ---- (c) the monitor covers a month of what the lags cost


def test_the_monitor_quota_covers_a_month_of_what_the_lags_cost(manifest):
    configured = (node["config"].get("target_lag") for node in dynamic_tables(manifest).values())
    lags = sorted({lag for lag in map(lag_seconds, configured) if lag is not None})
    shortest = lags[0]
    # Slower tiers fall on the faster tiers' refresh instants: no resume of their own.
    assert all(lag % faster == 0 for faster, lag in zip(lags, lags[1:], strict=False)), lags
    size, auto_suspend_s = warehouse_settings()
    per_day = streaming_credits_per_day(lags, size, auto_suspend_s)
    plan = snowflake_plan.SnowflakePlan.from_project(env={})
    quota = monitor_quota(render_script(plan))
    assert quota >= 30 * per_day, (
        f"CREDIT_QUOTA = {quota} lasts {quota / per_day:.1f} days at {per_day:g} credits a day "
        f"(shortest target_lag {shortest} s on a {size} warehouse, AUTO_SUSPEND = {auto_suspend_s})"
    )
    # The arithmetic plan.py (and docs/snowflake.md) states is the manifest's.
    documented = getattr(snowflake_plan, "STREAMING_CREDITS_PER_DAY", None)
    assert documented == pytest.approx(per_day), (documented, per_day, shortest, size)


def test_the_setup_dry_run_creates_the_monitor_with_that_quota():
    result = run(
        [sys.executable, "scripts/setup.py", "--target", "snowflake", "--dry-run"],
        timeout=120,
        **NO_SNOWFLAKE_ENV,
    )
    assert result.returncode == 0, result.stderr
    assert monitor_quota(result.stdout) >= 30 * snowflake_plan.STREAMING_CREDITS_PER_DAY
