"""Every published engine gets every value byte for byte; the BI password never travels as text;
a publish killed mid-way leaves nothing a reader could trip on (real PostgreSQL)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg2
import pytest

from orchestration.publish import parquet
from orchestration.publish.duckdb_file import publish_duckdb_file
from orchestration.publish.parquet import export_parquet
from orchestration.publish.postgres import publish_postgres
from orchestration.publish.scram import scram_sha256_verifier
from orchestration.publish.snapshot import Manifest, refresh_snapshot
from tests.support.postgres_server import PostgresServer

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
# What users' logs hold: CR, CR LF, tabs, quotes, backslashes, PostgreSQL's \N, emoji, RTL,
# combining marks, the replacement character, an empty string (and NULL beside it).
AWKWARD = [
    "req\r\n1", "line\rbreak", "tab\there", 'say "hi", ok', "back\\slash", "\\N", "", "🚀 ünïcødé",
    "مرحبا", "e\u0301", "keep\ufffdthis", "trailing space ", "new\nline", "comma,semi;colon",
]  # fmt: skip


@pytest.fixture(scope="module")
def pg():
    with PostgresServer() as server:
        yield server


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema analytics")
        con.execute(
            "create table marts.fct_llm_attempts as select * from (select unnest(?) as request_id, "
            "generate_subscripts(?, 1) as n) union all select null, 0",
            [AWKWARD, AWKWARD],
        )
    return path


def _values(rows) -> list:
    return sorted(rows, key=lambda r: r[1])


def test_every_value_reaches_every_engine_byte_for_byte(warehouse, tmp_path, pg):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        expected = _values(
            con.execute("select request_id, n from marts.fct_llm_attempts").fetchall()
        )
    assert len(expected) == len(AWKWARD) + 1

    snapshot = refresh_snapshot(warehouse, tmp_path / "store")
    publish_postgres(snapshot, pg.url(), NOW)
    conn = psycopg2.connect(pg.url())
    with conn.cursor() as cur:
        cur.execute("select request_id, n from tokenlake.fct_llm_attempts")
        assert _values(cur.fetchall()) == expected
        cur.execute("select n from tokenlake.fct_llm_attempts where request_id = %s", ("req\r\n1",))
        assert cur.fetchall() == [(1,)]  # a lookup by the id with its CR finds it
    conn.close()

    target = tmp_path / "published" / "tokenlake.duckdb"
    publish_duckdb_file(snapshot, target, NOW)
    with duckdb.connect(str(target), read_only=True) as con:
        assert (
            _values(con.execute("select request_id, n from fct_llm_attempts").fetchall())
            == expected
        )

    export_parquet(snapshot, str(tmp_path / "exports"))
    with duckdb.connect() as con:
        back = con.execute(
            f"select request_id, n from read_parquet('{tmp_path}/exports/fct_llm_attempts/**/*.parquet')"
        ).fetchall()
    assert _values(back) == expected


def test_the_bi_password_is_sent_as_a_scram_verifier_never_as_text(warehouse, tmp_path, pg):
    password = "bi-Secret-" + str(time.time_ns())
    admin = psycopg2.connect(pg.url())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("alter system set log_statement = 'ddl'")
        cur.execute("select pg_reload_conf()")
    admin.close()
    time.sleep(0.5)
    publish_postgres(refresh_snapshot(warehouse, tmp_path / "store"), pg.url(), NOW, password)
    bi = psycopg2.connect(pg.url("tokenlake_bi", password))  # the BI tool logs in with it
    with bi.cursor() as cur:
        cur.execute("select count(*) from tokenlake.fct_llm_attempts")
        assert cur.fetchone() == (len(AWKWARD) + 1,)
    bi.close()
    log = (pg.root / "log").read_text(errors="replace")
    assert "alter role" in log.lower()  # the server did log the statement
    assert password not in log
    assert "SCRAM-SHA-256$4096:" in log


def test_the_scram_verifier_is_rfc_5803():
    salt = b"0123456789abcdef"
    verifier = scram_sha256_verifier("pencil", salt=salt)
    method, rest = verifier.split("$", 1)
    params, keys = rest.split("$")
    iterations, salt_b64 = params.split(":")
    stored_b64, server_b64 = keys.split(":")
    assert (method, iterations, base64.b64decode(salt_b64)) == ("SCRAM-SHA-256", "4096", salt)
    salted = hashlib.pbkdf2_hmac("sha256", b"pencil", salt, 4096)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    assert base64.b64decode(stored_b64) == hashlib.sha256(client_key).digest()
    assert base64.b64decode(server_b64) == hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    assert scram_sha256_verifier("pencil") != scram_sha256_verifier("pencil")  # fresh salt


def test_a_publish_killed_mid_way_leaves_nothing_readers_see(warehouse, tmp_path, monkeypatch):
    exports = tmp_path / "exports"
    published = tmp_path / "published" / "tokenlake.duckdb"
    store = tmp_path / "published" / "tokenlake_files"
    snapshot = refresh_snapshot(warehouse, store)
    export_parquet(snapshot, str(exports))
    publish_duckdb_file(snapshot, published, NOW)
    # What a SIGKILL mid-publish left, by this version and by earlier ones.
    dead_stage = tmp_path / ".exports.staging-dead" / "fct_llm_attempts"
    old_style = exports / ".staging-dead" / "fct_llm_attempts"
    for folder in (dead_stage, old_style, store / ".staging" / "dead"):
        folder.mkdir(parents=True)
        (folder / "data.parquet").write_bytes(b"PAR1 truncated")
    (exports / "fct_llm_attempts" / ".data.parquet.dead.tmp").write_bytes(b"PAR1 half")
    (store / "data" / "fct_llm_attempts" / "all-v9.parquet").write_bytes(b"PAR1 unlisted")
    for name in (".tokenlake.duckdb.dead.tmp", ".tokenlake.duckdb.dead.tmp.wal"):
        (published.parent / name).write_bytes(b"half")

    replaced: list[str] = []
    real_replace = parquet.os.replace

    def replace_and_look(src, dst):
        # A BI reader globbing the exports during the publish reads only whole files.
        replaced.append(str(dst))
        with duckdb.connect() as reader:
            reader.execute(
                f"select count(*) from read_parquet('{exports}/**/*.parquet', union_by_name = true)"
            )
        return real_replace(src, dst)

    with duckdb.connect(str(warehouse)) as con:
        con.execute("update marts.fct_llm_attempts set n = n + 1")
    snapshot = refresh_snapshot(warehouse, store)
    monkeypatch.setattr(parquet.os, "replace", replace_and_look)
    export_parquet(snapshot, str(exports))
    monkeypatch.undo()
    publish_duckdb_file(snapshot, published, NOW)
    assert any(r.endswith("fct_llm_attempts/data.parquet") for r in replaced)
    assert not (tmp_path / ".exports.staging-dead").exists() and not old_style.parent.exists()
    assert not list(exports.rglob("*.tmp")) and not (store / ".staging").exists()
    assert sorted(p.name for p in published.parent.iterdir()) == [
        "tokenlake.duckdb",
        "tokenlake_files",
    ]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".exports")) == []
    # Only the manifest's files, and the replaced one kept for readers of the previous version.
    manifest = Manifest.load(store)
    stored = {str(p.relative_to(store)) for p in (store / "data").rglob("*.parquet")}
    assert stored == manifest.files() | set(manifest.retired)
    assert len(manifest.retired) == 1


def test_postgres_reloads_only_the_days_that_changed_in_place(tmp_path, pg):
    path = tmp_path / "dated.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("""
            create table marts.agg_usage_daily as
            select date '2026-11-01' + cast(i % 10 as integer) as usage_date, i as n,
                   cast(i * 0.5 as decimal(18, 6)) as total_cost
            from range(100) t(i)
        """)
    store, url = tmp_path / "store", pg.url()
    publish_postgres(refresh_snapshot(path, store), url, NOW)
    conn = psycopg2.connect(url)
    conn.autocommit = True

    def state() -> dict:
        with conn.cursor() as cur:
            cur.execute(
                "select usage_date, n, total_cost, xmin::text from tokenlake.agg_usage_daily"
            )
            return {(d.isoformat(), n): (cost, xmin) for d, n, cost, xmin in cur.fetchall()}

    before = state()
    with conn.cursor() as cur:
        cur.execute("select oid from pg_namespace where nspname = 'tokenlake'")
        schema_oid = cur.fetchone()
    with duckdb.connect(str(path)) as con:
        con.execute(
            "update marts.agg_usage_daily set total_cost = -1 where usage_date = '2026-11-03'"
        )
        con.execute("delete from marts.agg_usage_daily where usage_date = '2026-11-10'")
    publish_postgres(refresh_snapshot(path, store), url, NOW)
    after = state()
    with conn.cursor() as cur:
        cur.execute("select oid from pg_namespace where nspname = 'tokenlake'")
        assert cur.fetchone() == schema_oid  # the same schema: changed in place, not swapped
        cur.execute("select row_count from tokenlake._publish_info")
        assert cur.fetchall() == [(90,)]
    conn.close()
    assert {k for k in before if k[0] == "2026-11-10"} == set(before) - set(after)
    for key, (cost, xmin) in after.items():
        if key[0] == "2026-11-03":
            assert cost == -1 and xmin != before[key][1]
        else:
            assert (cost, xmin) == before[key]  # untouched rows were not rewritten
