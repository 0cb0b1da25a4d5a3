"""Views on DuckDB are created again only when their SQL changed (macros/materializations/view.sql):
an hourly run no longer re-creates every staging and mart view."""

from __future__ import annotations

import re

import duckdb
import pytest

from tests.conftest import Warehouse, event, write_jsonl
from tests.support.dbt_cli import dbt


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Warehouse:
    logs = tmp_path_factory.mktemp("logs")
    write_jsonl(logs / "events.jsonl", [event(i) for i in range(20)])
    warehouse = Warehouse(tmp_path_factory.mktemp("home"))
    warehouse.ingest(logs)
    warehouse.load_price_book(None)
    result = dbt("build", "--exclude-resource-type", "unit_test", warehouse=warehouse.path)
    assert result.returncode == 0, result.stdout[-4000:]
    return warehouse


def views(warehouse: Warehouse) -> dict[str, str]:
    """Each of the project's views and its comment (the md5 of the SQL it was created from)."""
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        rows = con.execute(
            "select schema_name || '.' || view_name, comment from duckdb_views() "
            "where not internal and schema_name in ('staging', 'intermediate', 'marts')"
        ).fetchall()
    return dict(rows)


def run_views(warehouse: Warehouse, *args: str) -> set[str]:
    """`dbt run` of every view; the views it created (from the statements dbt logged)."""
    log = warehouse.path.with_name("dbt-target") / "dbt.log"
    seen = log.stat().st_size if log.exists() else 0
    result = dbt("run", "--select", "config.materialized:view", *args, warehouse=warehouse.path)
    assert result.returncode == 0, result.stdout[-4000:]
    with log.open("rb") as text:
        text.seek(seen)
        created = re.findall(rb'create view "[^"]+"\."([^"]+)"\."([^"]+)__dbt_tmp"', text.read())
    return {f"{schema.decode()}.{name.decode()}" for schema, name in created}


def test_an_unchanged_view_is_left_as_it_is_a_changed_one_is_created_again(built: Warehouse):
    before = views(built)
    assert len(before) >= 10 and "marts.fct_llm_attempts" in before
    assert all(comment.startswith("tokenlake-sql-md5:") for comment in before.values())
    with duckdb.connect(str(built.path), read_only=True) as con:
        attempts = con.execute(
            "select count(*), sum(total_cost) from marts.fct_llm_attempts"
        ).fetchone()

    assert run_views(built) == set()  # not one view created again
    assert views(built) == before

    # A view whose SQL differs from the one it was created from (as after a model change).
    with duckdb.connect(str(built.path)) as con:
        con.execute("comment on view marts.fct_llm_attempts is 'tokenlake-sql-md5:older'")
    assert run_views(built) == {"marts.fct_llm_attempts"}
    assert views(built) == before
    with duckdb.connect(str(built.path), read_only=True) as con:
        again = con.execute(
            "select count(*), sum(total_cost) from marts.fct_llm_attempts"
        ).fetchone()
    assert again == attempts and attempts[0] == 20

    # A full refresh creates every view again.
    assert run_views(built, "--full-refresh") == set(before)
