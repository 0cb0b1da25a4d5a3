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

    publish_postgres(warehouse, pg.url(), NOW)
    conn = psycopg2.connect(pg.url())
    with conn.cursor() as cur:
        cur.execute("select request_id, n from tokenlake.fct_llm_attempts")
        assert _values(cur.fetchall()) == expected
        cur.execute("select n from tokenlake.fct_llm_attempts where request_id = %s", ("req\r\n1",))
        assert cur.fetchall() == [(1,)]  # a lookup by the id with its CR finds it
    conn.close()

    target = tmp_path / "published" / "tokenlake.duckdb"
    publish_duckdb_file(warehouse, target, NOW)
    with duckdb.connect(str(target), read_only=True) as con:
        assert (
            _values(con.execute("select request_id, n from fct_llm_attempts").fetchall())
            == expected
        )

    export_parquet(warehouse, str(tmp_path / "exports"))
    with duckdb.connect() as con:
        back = con.execute(
            f"select request_id, n from read_parquet('{tmp_path}/exports/fct_llm_attempts/**/*.parquet')"
        ).fetchall()
    assert _values(back) == expected


def test_the_bi_password_is_sent_as_a_scram_verifier_never_as_text(warehouse, pg):
    password = "bi-Secret-" + str(time.time_ns())
    admin = psycopg2.connect(pg.url())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("alter system set log_statement = 'ddl'")
        cur.execute("select pg_reload_conf()")
    admin.close()
    time.sleep(0.5)
    publish_postgres(warehouse, pg.url(), NOW, bi_password=password)
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
    export_parquet(warehouse, str(exports))
    publish_duckdb_file(warehouse, published, NOW)
    # What a SIGKILL mid-publish left, by this version and by earlier ones.
    dead_stage = tmp_path / ".exports.staging-dead" / "fct_llm_attempts"
    old_style = exports / ".staging-dead" / "fct_llm_attempts"
    for folder in (dead_stage, old_style):
        folder.mkdir(parents=True)
        (folder / "data.parquet").write_bytes(b"PAR1 truncated")
    for name in (".tokenlake.duckdb.dead.tmp", ".tokenlake.duckdb.dead.tmp.wal"):
        (published.parent / name).write_bytes(b"half")

    staged_in: list[str] = []
    real_copy = parquet._copy

    def copy_and_look(con, table, folder):
        staged_in.append(folder)
        # A BI reader globbing the exports during the publish reads only whole files.
        rows = real_copy(con, table, folder)
        with duckdb.connect() as reader:
            reader.execute(
                f"select count(*) from read_parquet('{exports}/**/*.parquet', union_by_name = true)"
            )
        return rows

    monkeypatch.setattr(parquet, "_copy", copy_and_look)
    export_parquet(warehouse, str(exports))
    publish_duckdb_file(warehouse, published, NOW)
    assert staged_in and not any(f.startswith(str(exports) + "/") for f in staged_in)
    assert not (tmp_path / ".exports.staging-dead").exists() and not old_style.parent.exists()
    assert sorted(p.name for p in published.parent.iterdir()) == ["tokenlake.duckdb"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".exports")) == []
