"""A declarative log mapping (YAML) compiled to one DuckDB expression per contract field.

A mapping says, for each field of the usage-event contract, where its value is in a record:

    name: my_app
    detect: [ts, usage]            # top-level keys that mark a record of this shape (optional)
    parse_json: [metadata]         # fields that hold JSON as a string (optional)
    fields:
      timestamp: {path: ts, unit: epoch_s}          # iso (default), epoch_s, epoch_ms, epoch_us, epoch_ns
      request_id: id
      tenant_id: {path: [org.id, team], default: unattributed}
      provider: {value: openai}
      model: usage.model
      input_tokens: {sum: [usage.prompt, usage.cached]}
      output_tokens: usage.completion
      latency_ms: {path: duration, unit: seconds}    # ms (default) or seconds
      status: {path: code, values: {"200": ok, "429": rate_limited}, default: error}
    keep: rest                     # other keys into extra_fields: rest (default), none, or a list

A path is keys separated by dots (a key with dots in double quotes, `[0]` for a list item);
a list of paths, or paths separated by |, are alternatives (the first present wins). Empty
strings count as absent. `sql:` is an escape hatch: a DuckDB expression where `{path}` is the
text at path, `{path:int}` / `{path:num}` its number, `{path:json}` the JSON value, and
`{=field}` another field's mapped value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestion.usage_logs.contract import ALIASES, CONTRACT_FIELDS

TIMESTAMP_UNITS = {"iso": None, "epoch_s": 1000, "epoch_ms": 1, "epoch_us": 0.001, "epoch_ns": 1e-6}
LATENCY_UNITS = {"ms": 1, "seconds": 1000}
_KEY = r'"[^"]+"|[^."\[\]|]+'
_SEGMENT = re.compile(rf"({_KEY})((?:\[\d+\])*)")
_PLACEHOLDER = re.compile(r"\{(=?)([^{}:]+)(?::(int|num|json|text))?\}")
_RULE_KEYS = {"path", "sum", "value", "sql", "unit", "default", "values"}


class MappingError(ValueError):
    """A mapping that cannot be compiled; the message names the field and what is wrong."""


@dataclass(frozen=True)
class LogMapping:
    name: str
    fields: dict[str, Any]
    detect: tuple[str, ...] = ()
    parse_json: tuple[str, ...] = ()
    keep: Any = "rest"
    description: str = ""
    # A condition (same placeholders as sql:) for records that are not calls at all (a tracing
    # tool's spans and events): skipped and counted, like non-GenAI OpenTelemetry spans.
    skip: str = ""
    compiled: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_dict(cls, spec: dict, origin: str = "mapping") -> LogMapping:
        if not isinstance(spec, dict) or not isinstance(spec.get("fields"), dict):
            raise MappingError(f"{origin}: expected a `fields:` section (contract field -> path)")
        unknown = sorted(set(spec["fields"]) - set(CONTRACT_FIELDS))
        if unknown:
            raise MappingError(f"{origin}: {', '.join(unknown)} is not a contract field")
        mapping = cls(
            name=str(spec.get("name") or origin),
            fields=dict(spec["fields"]),
            detect=tuple(spec.get("detect") or ()),
            parse_json=tuple(spec.get("parse_json") or ()),
            keep=spec.get("keep", "rest"),
            description=str(spec.get("description") or ""),
            skip=str(spec.get("skip") or ""),
        )
        mapping.compile()  # errors now, not at the first file
        mapping.skip_sql()
        return mapping

    @classmethod
    def from_yaml(cls, path: str | Path) -> LogMapping:
        import yaml

        path = Path(path)
        try:
            spec = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise MappingError(f"{path}: cannot be read ({str(exc).splitlines()[0]})") from None
        return cls.from_dict(spec, path.stem if path.suffix else str(path))

    def compile(self) -> dict[str, str]:
        """Each mapped contract field -> its SQL expression over the column `line`."""
        if not self.compiled:
            for name, rule in self.fields.items():
                self.compiled[name] = self._field_sql(name, rule)
        return self.compiled

    def record_sql(self) -> str:
        """The contract-shaped JSON object of a record (text), the kept keys beside it."""
        fields = self.compile()
        contract = "json_object(" + ", ".join(f"'{k}', {v}" for k, v in fields.items()) + ")"
        extras = self._extras_sql()
        body = contract if extras is None else f"json_merge_patch({extras}, {contract})"
        return f"cast({body} as varchar)"

    def skip_sql(self) -> str:
        """True for a (prepared) record to skip; false when the mapping skips none."""
        if not self.skip:
            return "false"
        where = f"{self.name}: skip"
        return (
            "coalesce(("
            + _PLACEHOLDER.sub(lambda m: self._placeholder(m, where), self.skip)
            + "), false)"
        )

    def match_sql(self) -> str:
        """True for a line that looks like a record of this shape (a cheap text test)."""
        if not self.detect:
            return "true"
        return " and ".join(f"contains(line, '\"{key}\"')" for key in self.detect)

    def matches(self, record: dict) -> bool:
        """The same test on a parsed record (a file's first line)."""
        return bool(self.detect) and all(key in record for key in self.detect)

    def prepared_line_sql(self) -> str:
        """`line` with the parse_json fields' JSON strings replaced by their JSON value."""
        if not self.parse_json:
            return "line"
        patch = ", ".join(
            f"'{key}', case when json_type(line, '$.\"{key}\"') = 'VARCHAR' "
            f"and json_valid(json_extract_string(line, '$.\"{key}\"')) "
            f"then json(json_extract_string(line, '$.\"{key}\"')) "
            f"else json_extract(line, '$.\"{key}\"') end"
            for key in self.parse_json
        )
        return f"cast(json_merge_patch(line, json_object({patch})) as varchar)"

    # -- compilation -------------------------------------------------------------------------

    def _field_sql(self, name: str, rule: Any) -> str:
        where = f"{self.name}: {name}"
        if isinstance(rule, (str, list)):
            rule = {"path": rule}
        if not isinstance(rule, dict) or not (set(rule) & {"path", "sum", "value", "sql"}):
            raise MappingError(f"{where}: give a path, sum, value or sql")
        if extra := set(rule) - _RULE_KEYS:
            raise MappingError(f"{where}: unknown key {', '.join(sorted(extra))}")
        is_json = "path" in rule  # a JSON value (numbers stay numbers), else an SQL value
        if "path" in rule:
            expr = _coalesce([_json_value(p, where) for p in _alternatives(rule["path"], where)])
        elif "sum" in rule:
            parts = [_number(p, where, "bigint") for p in _alternatives(rule["sum"], where)]
            expr = (
                f"case when coalesce({', '.join(parts)}) is not null then "
                + " + ".join(f"coalesce({p}, 0)" for p in parts)
                + " end"
            )
        elif "value" in rule:
            expr = _literal(rule["value"])
        else:
            expr = "(" + _PLACEHOLDER.sub(lambda m: self._placeholder(m, where), rule["sql"]) + ")"
        if "values" in rule:
            text = _as_text(expr, is_json)
            whens = " ".join(
                f"when {_literal(str(k))} then {_literal(v)}" for k, v in rule["values"].items()
            )
            expr, is_json = f"case {text} {whens} else {text} end", False
        if "unit" in rule:
            expr, is_json = _with_unit(name, _as_text(expr, is_json), rule["unit"], where), False
        if "default" in rule:
            default = _literal(rule["default"])
            expr = f"coalesce({expr}, {f'to_json({default})' if is_json else default})"
        return expr

    def _placeholder(self, m: re.Match, where: str) -> str:
        reference, target, kind = m.group(1), m.group(2).strip(), m.group(3) or "text"
        if reference:
            if target not in self.fields:
                raise MappingError(f"{where}: {{={target}}} names a field this mapping lacks")
            return self._field_sql(target, self.fields[target])
        paths = _alternatives(target, where)
        if kind == "json":
            return _coalesce([_json_value(p, where) for p in paths])
        if kind in ("int", "num"):
            return _coalesce(
                [_number(p, where, "bigint" if kind == "int" else "double") for p in paths]
            )
        return _coalesce([_text_at(p, where) for p in paths])

    def _extras_sql(self) -> str | None:
        """The record's other keys as a JSON object, or None to keep none."""
        keep = self.keep
        if keep in (None, "none", False, []):
            return None
        if keep == "rest":
            used = {_top_key(p) for p in self._paths()} | set(CONTRACT_FIELDS) | set(ALIASES)
            skip = ", ".join(_literal(k) for k in sorted(used))
            return (
                "to_json(map_from_entries(list_transform("
                f"list_filter(json_keys(line), lambda k: k not in ({skip})), "
                "lambda k: {'key': k, 'value': json_extract(line, '$.\"' || k || '\"')})))"
            )
        if not isinstance(keep, list):
            raise MappingError(f"{self.name}: keep must be rest, none or a list of keys")
        kept = [k for k in keep if k not in CONTRACT_FIELDS and k not in ALIASES]
        if not kept:
            return None
        return (
            "json_object("
            + ", ".join(
                f"{_literal(k)}, json_extract(line, {_literal(_json_path(k, self.name))})"
                for k in kept
            )
            + ")"
        )

    def _paths(self) -> list[str]:
        found = []
        for rule in self.fields.values():
            if isinstance(rule, (str, list)):
                rule = {"path": rule}
            for key in ("path", "sum"):
                if key in rule:
                    found += _alternatives(rule[key], self.name)
            if "sql" in rule:
                for m in _PLACEHOLDER.finditer(rule["sql"]):
                    if not m.group(1):
                        found += _alternatives(m.group(2).strip(), self.name)
        return found


def _alternatives(paths: str | list, where: str) -> list[str]:
    items = paths if isinstance(paths, list) else str(paths).split("|")
    out = [str(p).strip() for p in items if str(p).strip()]
    if not out:
        raise MappingError(f"{where}: empty path")
    return out


def _json_path(path: str, where: str) -> str:
    """`a."b.c"[0]` -> `$."a"."b.c"[0]` (DuckDB's JSON path)."""
    out = "$"
    for part in _split_quoted(path):
        m = _SEGMENT.fullmatch(part.strip())
        if not m:
            raise MappingError(f"{where}: cannot read the path {path!r}")
        out += '."' + m.group(1).strip('"') + '"' + m.group(2)
    return out


def _split_quoted(path: str) -> list[str]:
    parts, current, quoted = [], "", False
    for ch in path:
        if ch == '"':
            quoted = not quoted
        if ch == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [*parts, current]


def _top_key(path: str) -> str:
    first = _split_quoted(path)[0]
    return re.sub(r"\[\d+\]$", "", first).strip('"')


def _json_value(path: str, where: str) -> str:
    """The JSON value at path; absent, JSON null and "" are NULL."""
    p = _literal(_json_path(path, where))
    return (
        f"case when json_type(line, {p}) in ('NULL') or json_extract_string(line, {p}) = '' "
        f"then null else json_extract(line, {p}) end"
    )


def _text_at(path: str, where: str) -> str:
    return f"nullif(json_extract_string(line, {_literal(_json_path(path, where))}), '')"


def _number(path: str, where: str, sql_type: str) -> str:
    return f"try_cast({_text_at(path, where)} as {sql_type})"


def _as_text(expr: str, is_json: bool) -> str:
    """An expression's value as text (a JSON string unquoted)."""
    return f"json_extract_string({expr}, '$')" if is_json else f"cast({expr} as varchar)"


def _coalesce(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _with_unit(name: str, text: str, unit: str, where: str) -> str:
    number = f"try_cast({text} as double)"
    if name == "timestamp":
        if unit not in TIMESTAMP_UNITS:
            raise MappingError(f"{where}: unit must be one of {', '.join(TIMESTAMP_UNITS)}")
        factor = TIMESTAMP_UNITS[unit]
        # Epoch values become epoch milliseconds (what the contract reads as a number).
        # A value that is not a number stays as it is: validation names it (invalid_timestamp).
        return (
            text
            if factor is None
            else f"coalesce(cast(round({number} * {factor}) as bigint)::varchar, {text})"
        )
    if name == "latency_ms":
        if unit not in LATENCY_UNITS:
            raise MappingError(f"{where}: unit must be one of {', '.join(LATENCY_UNITS)}")
        return f"coalesce(cast(round({number} * {LATENCY_UNITS[unit]}) as bigint)::varchar, {text})"
    raise MappingError(f"{where}: only timestamp and latency_ms take a unit")
