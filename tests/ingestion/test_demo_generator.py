"""The demo data: deterministic, realistic in shape, with the incidents its manifest promises."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from demo import generate
from demo.catalog import UNPRICED_MODEL
from tests.conftest import Warehouse

END = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict, duckdb.DuckDBPyConnection]:
    """30k demo events, loaded through the project's own ingestion (every line must load)."""
    out = tmp_path_factory.mktemp("demo")
    generate(out, 30_000, seed=7, end=END)
    manifest = json.loads((out / "manifest.json").read_text())
    warehouse = Warehouse(tmp_path_factory.mktemp("warehouse"))
    report = warehouse.ingest(out / "logs")
    assert (report.files, report.rows_loaded, report.rows_quarantined) == (
        manifest["files"],
        manifest["events"],
        0,
    )
    con = duckdb.connect(str(warehouse.path), read_only=True)
    con.execute("set TimeZone = 'UTC'")
    con.execute('create temp view events as select "timestamp" as ts, * from raw.usage_events')
    return out, manifest, con


def q(con, sql):
    return con.execute(sql).fetchall()


def test_same_seed_same_files(tmp_path: Path):
    def digest(root: Path) -> str:
        h = hashlib.sha256()
        for path in sorted(root.rglob("*.json*")):
            if path.name == "manifest.json":
                continue
            data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            h.update(path.relative_to(root).as_posix().encode() + data)
        return h.hexdigest()

    generate(tmp_path / "a", 5_000, seed=3, end=END)
    generate(tmp_path / "b", 5_000, seed=3, end=END)
    generate(tmp_path / "c", 5_000, seed=4, end=END)
    assert digest(tmp_path / "a") == digest(tmp_path / "b") != digest(tmp_path / "c")


def test_shape_of_the_organisation(demo):
    _, manifest, con = demo
    assert abs(manifest["events"] - 30_000) / 30_000 < 0.1
    assert q(con, "select count(*) from events") == [(manifest["events"],)]
    (tenants, features, models, providers, agents, actions) = q(
        con,
        "select count(distinct tenant_id), count(distinct feature), count(distinct model), "
        "count(distinct provider), count(distinct agent), count(distinct action_type) from events",
    )[0]
    assert (
        tenants >= 45
        and features == 12
        and models >= 8
        and providers == 2
        and agents >= 4
        and actions >= 5
    )
    assert set(manifest["tenants"].values()) == {"free", "premium", "enterprise"}
    first, last = q(con, "select min(ts), max(ts) from events")[0]
    assert last <= END and last > END - timedelta(hours=3)
    assert first.date() == (END - timedelta(days=89)).date()


def test_seasonality_retries_cache_byok_batch_long_context(demo):
    _, _, con = demo
    weekday, weekend = q(
        con,
        "select avg(n) filter (where dow not in (0, 6)), avg(n) filter (where dow in (0, 6)) from "
        "(select dayofweek(ts) as dow, date_trunc('day', ts) as d, count(*) as n from events "
        " where ts < timestamptz '2026-11-20' group by all)",
    )[0]
    assert weekday > 1.6 * weekend
    night, afternoon = q(
        con,
        "select count(*) filter (where hour(ts) between 2 and 5), count(*) filter (where hour(ts) between 13 and 16) from events",
    )[0]
    assert afternoon > 2 * night
    retried = q(con, "select count(distinct request_id) from events where attempt >= 2")[0][0]
    requests = q(con, "select count(distinct request_id) from events")[0][0]
    assert 0.03 < retried / requests < 0.09
    # Every retried request's earlier attempts failed; attempts count up without gaps.
    assert q(
        con,
        "select count(*) from events e where attempt < (select max(attempt) from events f where f.request_id = e.request_id) and status = 'ok'",
    ) == [(0,)]
    assert q(
        con,
        "select count(*) from (select request_id from events group by 1 having max(attempt) <> count(*))",
    ) == [(0,)]
    share = dict(
        q(con, "select key_source, count(*) / sum(count(*)) over () from events group by 1")
    )
    assert 0.02 < share["byok"] < 0.4
    assert q(con, "select count(*) > 0 from events where cache_read_tokens > 0")[0][0]
    assert q(
        con,
        "select count(*) > 0 from events where cache_write_tokens > 0 and cache_write_1h_tokens > 0",
    )[0][0]
    assert q(con, "select count(*) > 0 from events where batch and service_tier = 'batch'")[0][0]
    assert q(con, "select count(*) between 1 and 100 from events where input_tokens > 200000")[0][0]
    assert q(con, "select count(*) > 0 from events where reasoning_tokens > 0")[0][0]
    assert q(
        con,
        "select count(*) from events where cache_read_tokens + cache_write_tokens > input_tokens",
    ) == [(0,)]


def test_planted_incidents_are_in_the_data(demo):
    _, manifest, con = demo
    incidents = {i["kind"]: i for i in manifest["incidents"]}

    growth = incidents["prompt_growth"]
    ratio = q(
        con,
        f"""select avg(input_tokens) filter (where ts::date = date '{growth["date"]}')
                 / avg(input_tokens) filter (where ts::date between date '{growth["date"]}' - 7 and date '{growth["date"]}' - 1)
            from events where feature = '{growth["value"]}' and status = 'ok' and input_tokens < 200000""",
    )[0][0]
    assert 2.3 < ratio < 3.8

    spike = incidents["tenant_spike"]
    day, before = q(
        con,
        f"""select count(*) filter (where ts::date = date '{spike["date"]}'),
                   count(*) filter (where ts::date between date '{spike["date"]}' - 7 and date '{spike["date"]}' - 1) / 7
            from events where tenant_id = '{spike["value"]}'""",
    )[0]
    assert day > 3 * before

    unpriced = incidents["unpriced_model"]
    assert unpriced["value"] == UNPRICED_MODEL[1]
    first = q(con, f"select min(ts)::date from events where model = '{UNPRICED_MODEL[1]}'")[0][0]
    assert first.isoformat() == unpriced["date"]


def test_hourly_files_like_a_log_shipper(demo):
    out, manifest, _ = demo
    files = [p for p in (out / "logs").rglob("*") if p.is_file()]
    assert len(files) == manifest["files"]
    assert {p.parent.parent.parent.name for p in files} == {"gateway", "legacy-gateway", "app"}
    assert all(
        p.parent.name.startswith("hour=") and p.parent.parent.name.startswith("dt=") for p in files
    )
