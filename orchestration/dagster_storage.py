"""Dagster's local SQLite storage (the same files in the instance folder), keeping one database
engine per file open.

Dagster's SQLite event log builds and disposes of a new SQLAlchemy engine for every statement,
which also empties SQLAlchemy's compiled-statement cache each time. A run over a 90-day provider
window stores about 3,000 events (one materialisation and one "planned" event per asset and day),
and on 20 k demo events that bookkeeping took 44 % of an in-process `full_pipeline`'s CPU; with
an engine kept per file the run took 105 s instead of 184 s. Everything else (schema, file
layout, locking, watching for new events) is Dagster's own.

The only module of tokenlake that imports Dagster's private modules (two of them): the SQLite
storage classes have no public import path. tests/orchestration/test_private_dagster_api.py
checks every private name used here and fails on a Dagster upgrade until they are re-checked.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster._core.storage import sqlite_storage
from dagster._core.storage.event_log.sqlite import sqlite_event_log
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

# Run-sharded event logs have a file per run; the newest few stay open (a run writes its own file
# and the index), older ones are closed.
OPEN_ENGINES = 8


class EngineKeepingSqliteEventLogStorage(sqlite_event_log.SqliteEventLogStorage):
    """`SqliteEventLogStorage` with an engine per database file instead of one per statement."""

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        self._engines_lock = threading.Lock()
        super().__init__(base_dir, inst_data)

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            if self._engines_pid != os.getpid():
                # A forked child must not use its parent's SQLite connections.
                self._engines = OrderedDict()
                self._engines_pid = os.getpid()
            engine = self._engines.get(shard)
            if engine is not None:
                self._engines.move_to_end(shard)
                return engine
            engine = create_engine(
                self.conn_string_for_shard(shard),
                pool_size=1,
                max_overflow=2,
                connect_args={
                    "timeout": sqlite_event_log.SQLITE_BUSY_TIMEOUT_SECONDS,
                    "check_same_thread": False,
                },
            )
            self._engines[shard] = engine
            while len(self._engines) > OPEN_ENGINES:
                _, oldest = self._engines.popitem(last=False)
                oldest.dispose()
            return engine

    def _dispose_engines(self) -> None:
        with self._engines_lock:
            engines, self._engines = list(self._engines.values()), OrderedDict()
        for engine in engines:
            engine.dispose()

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:  # the parent's, minus the new engine
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:  # asked on every asset event
        engine = self._engine(sqlite_event_log.INDEX_SHARD_NAME)
        with engine.connect() as conn:
            return bool(engine.dialect.has_table(conn, table_name))

    def wipe(self) -> None:
        # Run files are deleted: connections to them must not outlive them.
        self._dispose_engines()
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()


class LocalSqliteStorage(sqlite_storage.DagsterSqliteStorage):
    """Dagster's default storage (`storage: sqlite`), with the engine-keeping event log.

    dagster.yaml: `storage: {custom: {module: orchestration.dagster_storage,
    class: LocalSqliteStorage, config: {base_dir: <the instance folder>}}}`, as
    orchestration/dagster_instance.py writes it.
    """

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        super().__init__(base_dir, inst_data)
        self._event_log_storage = EngineKeepingSqliteEventLogStorage(
            sqlite_storage._event_logs_directory(base_dir)
        )

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: Any, config_value: dict
    ) -> LocalSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)
