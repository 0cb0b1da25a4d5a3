"""Log formats other than the event contract: gateway exports recognised by their content
(LiteLLM, Helicone, ...) and a user's own YAML mapping, each turned into contract-shaped records
before validation, so that they are checked and quarantined like any other record.

Built-in formats are mappings shipped beside this file (`<name>.yaml`); they document each
gateway's token semantics. TOKENLAKE_LOGS_FORMAT forces one (or `contract`: none), and
TOKENLAKE_LOGS_MAPPING points at a mapping of your own, applied to every record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.usage_logs.formats.mapping import LogMapping, MappingError
from ingestion.usage_logs.otlp import OtelOptions
from ingestion.usage_logs.reader_options import AUTO, BUILT_IN, CONTRACT, FORMATS_DIR

__all__ = ["AUTO", "BUILT_IN", "CONTRACT", "LogFormats", "LogMapping", "MappingError", "built_in"]


def built_in(name: str) -> LogMapping:
    return LogMapping.from_yaml(FORMATS_DIR / f"{name}.yaml")


@dataclass(frozen=True)
class LogFormats:
    """Which mappings apply to a run's records: recognised (auto) or forced on every record."""

    mappings: tuple[LogMapping, ...] = ()
    forced: bool = False
    # How OpenTelemetry spans are read (OTLP exports are always recognised).
    otel: OtelOptions = OtelOptions()

    @classmethod
    def from_settings(
        cls,
        log_format: str = AUTO,
        mapping_path: str | None = None,
        otel: OtelOptions | None = None,
    ) -> LogFormats:
        """TOKENLAKE_LOGS_FORMAT / TOKENLAKE_LOGS_MAPPING -> formats; MappingError if unusable."""
        otel = otel or OtelOptions()
        if mapping_path:
            return cls((LogMapping.from_yaml(mapping_path),), forced=True, otel=otel)
        if log_format == CONTRACT:
            return cls(otel=otel)
        if log_format == AUTO:
            return cls(tuple(built_in(name) for name in BUILT_IN), otel=otel)
        if log_format not in BUILT_IN:
            raise MappingError(
                f"unknown log format {log_format!r} (one of: {AUTO}, {CONTRACT}, {', '.join(BUILT_IN)})"
            )
        return cls((built_in(log_format),), forced=True, otel=otel)

    def __bool__(self) -> bool:
        return bool(self.mappings)

    def claims_file(self, first_line: bytes) -> bool:
        """Does a file starting with this line need mapping (so the pooled reader takes it)?"""
        if not self.mappings:
            return False
        if self.forced:
            return True
        try:
            record = json.loads(first_line)
        except ValueError:
            return False
        return isinstance(record, dict) and any(m.matches(record) for m in self.mappings)

    def adapt(self, con: duckdb.DuckDBPyConnection, lines: pa.Table) -> tuple[pa.Table, pa.Table]:
        """Lines of a known format rewritten as contract records, other lines unchanged; and the
        records a mapping skips (one row each, with its _source_file), to be counted."""
        no_skips = lines.select(["_source_file"]).slice(0, 0)
        if not self.mappings or not (self.forced or self._any_candidate(lines)):
            return lines, no_skips
        # Which mapping each line takes (the first whose keys it has; malformed JSON none, so
        # that validation quarantines it as invalid_json), then its JSON strings parsed, then
        # records that are not calls set aside, then the contract record built.
        chosen = " ".join(
            f"when json_valid(line) and {'true' if self.forced else m.match_sql()} then {i}"
            for i, m in enumerate(self.mappings)
        )
        prepared = " ".join(
            f"when {i} then {m.prepared_line_sql()}" for i, m in enumerate(self.mappings)
        )
        skips = " ".join(f"when {i} then {m.skip_sql()}" for i, m in enumerate(self.mappings))
        records = " ".join(f"when {i} then {m.record_sql()}" for i, m in enumerate(self.mappings))
        con.register("mapped_lines", lines)
        try:
            con.execute(f"""
                create or replace temp table prepared_lines as
                with chosen as (
                    select *, case {chosen} end as _mapping from mapped_lines
                ),
                prepared as (
                    select * replace (case _mapping {prepared} else line end as line) from chosen
                )
                select *, coalesce(case _mapping {skips} end, false) as _skipped from prepared
            """)
            mapped = (
                con.sql(f"""
                select * exclude (_mapping, _skipped)
                    replace (case _mapping {records} else line end as line)
                from prepared_lines where not _skipped
            """)
                .to_arrow_table()
                .cast(lines.schema)
            )
            skipped = (
                con.sql("select _source_file from prepared_lines where _skipped")
                .to_arrow_table()
                .cast(no_skips.schema)
            )
            return mapped, skipped
        finally:
            con.unregister("mapped_lines")
            con.execute("drop table if exists prepared_lines")

    def _any_candidate(self, lines: pa.Table) -> bool:
        column = lines.column("line")
        return any(
            bool(pc.any(pc.match_substring(column, f'"{m.detect[0]}"')).as_py())
            for m in self.mappings
            if m.detect
        )
