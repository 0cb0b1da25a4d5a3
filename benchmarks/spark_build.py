"""The dbt project on Apache Spark (dbt-spark, `session` method, a local pyspark): does it build,
and are its totals the DuckDB build's to the cent?

    make spark-build              # = python -m benchmarks.spark_build --events 20000

Demo logs are ingested by the project's pipeline into DuckDB and built there with dbt; the raw
tables are then handed to Spark as Parquet tables (what a lake would hold), the same project is
built with `--target spark`, and the totals of both builds are compared. Timings and the
comparison go to $TOKENLAKE_HOME/bench/spark.json; the command fails on any difference.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from multiprocessing import get_context
from pathlib import Path

import duckdb

from benchmarks.marts_bench import dbt, prepare
from orchestration.settings import DBT_PROJECT_DIR, Settings

DBT = str(Path(sys.executable).with_name("dbt"))

# The numbers a user would compare between two builds (each query runs on both engines).
TOTALS = {
    "attempts": """select count(*), sum(total_cost), sum(net_cost), sum(cache_savings),
        count(case when not is_priced then 1 end) from marts.fct_llm_attempts""",
    "requests": "select count(*), sum(total_cost), sum(attempts) from marts.fct_llm_requests",
    "daily": """select cast(usage_date as varchar(10)), sum(total_cost), sum(net_cost), sum(attempts),
        sum(input_tokens) from marts.agg_usage_daily group by 1 order by 1""",
    "hourly": "select count(*), sum(total_cost), sum(retries), sum(errors) from marts.agg_usage_hourly",
    "chargeback": """select tenant_id, cast(usage_month as varchar(10)), provider_cost, billed_amount
        from marts.mart_chargeback_monthly order by 1, 2""",
    "features": "select feature, total_cost from marts.mart_feature_ranking order by 1",
    "heatmap": "select count(*), sum(total_cost) from marts.mart_usage_heatmap",
    "cost change": """select scope_type, count(*), sum(cost_change)
        from marts.mart_cost_change_drivers group by 1 order by 1""",
}


def _cents(row: tuple) -> tuple:
    return tuple(
        Decimal(str(v)).quantize(Decimal("0.01")) if isinstance(v, int | float | Decimal) else v
        for v in row
    )


def spark_session(home: Path):  # -> pyspark.sql.SparkSession
    """A session on the same warehouse folder and metastore as dbt's `spark` output."""
    from pyspark.sql import SparkSession

    os.chdir(home)  # the embedded metastore writes derby.log to the working folder
    return (
        SparkSession.builder.appName("tokenlake-spark-build")
        .config("spark.sql.warehouse.dir", str(home / "spark" / "warehouse"))
        .config(
            "javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={home / 'spark' / 'metastore'};create=true",
        )
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "2g")
        .enableHiveSupport()
        .getOrCreate()
    )


def export_raw(warehouse: Path, folder: Path) -> dict[str, Path]:
    """Every raw table (not dlt's bookkeeping) as one Parquet file per table."""
    out = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw' "
                "and table_name not like '\\_dlt%' escape '\\'"
            ).fetchall()
        ]
        for table in tables:
            path = folder / table / "part-0.parquet"
            path.parent.mkdir(parents=True)
            con.execute(f"copy raw.{table} to '{path}' (format parquet)")
            out[table] = path.parent
    return out


def register_raw(home: Path, tables: dict[str, Path]) -> None:
    spark = spark_session(home)
    try:
        spark.sql("create database if not exists raw")
        for table, location in tables.items():
            spark.sql(f"drop table if exists raw.{table}")
            spark.sql(f"create table raw.{table} using parquet location '{location}'")
    finally:
        spark.stop()


def spark_totals(home: Path) -> dict[str, list[tuple]]:
    spark = spark_session(home)
    try:
        return {
            name: [_cents(tuple(row)) for row in spark.sql(sql).collect()]
            for name, sql in TOTALS.items()
        }
    finally:
        spark.stop()


def duckdb_totals(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return {
            name: [_cents(r) for r in con.execute(sql).fetchall()] for name, sql in TOTALS.items()
        }


def dbt_spark(args: list[str], home: Path) -> float:
    env = {**os.environ, "TOKENLAKE_HOME": str(home), "TOKENLAKE_DBT_TARGET": "spark"}
    started = time.perf_counter()
    result = subprocess.run(
        [DBT, *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(home / "dbt-target")],
        env=env, capture_output=True, text=True, cwd=home,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    (home / f"dbt-{args[0]}.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} on Spark failed:\n{result.stdout[-4000:]}")
    return elapsed


def in_own_process(function, *args):
    """Run `function` in a fresh Python process: its JVM (and the embedded metastore it boots)
    ends with it, so the next Spark process, dbt's, can open the metastore."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def run(events: int, folder: Path) -> dict:
    ingested = prepare(events, folder)
    base = folder / f"spark-{events}"
    shutil.rmtree(base, ignore_errors=True)
    home = base / "home"
    home.mkdir(parents=True)
    warehouse = base / "warehouse.duckdb"
    shutil.copyfile(ingested, warehouse)
    print("dbt build on DuckDB ...", flush=True)
    duckdb_seconds = dbt(["build"], warehouse)
    tables = export_raw(warehouse, base / "raw-parquet")
    in_own_process(register_raw, home, tables)
    print("dbt build on Spark (session) ...", flush=True)
    # The price-book snapshot needs Delta/Iceberg tables on Spark (docs/warehouses.md).
    spark_seconds = dbt_spark(["build", "--exclude", "resource_type:snapshot"], home)
    expected, actual = duckdb_totals(warehouse), in_own_process(spark_totals, home)
    differences = {
        name: {"duckdb": [list(map(str, r)) for r in expected[name][:5]],
               "spark": [list(map(str, r)) for r in actual[name][:5]]}
        for name in TOTALS if expected[name] != actual[name]
    }  # fmt: skip
    return {
        "events": events,
        "duckdb_build_s": round(duckdb_seconds, 1),
        "spark_build_s": round(spark_seconds, 1),
        "raw_tables": sorted(tables),
        "totals_compared": sorted(TOTALS),
        "attempts_total_cost": str(expected["attempts"][0][1]),
        "equal_to_the_cent": not differences,
        "differences": differences,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    folder = Settings.from_env().home / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    result = run(args.events, folder) | {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
    }
    (folder / "spark.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    if not result["equal_to_the_cent"]:
        sys.exit("Spark totals differ from DuckDB's (see differences above)")


if __name__ == "__main__":
    main()
