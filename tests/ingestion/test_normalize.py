"""The usage-event contract, field by field: aliases, timestamps, defaults, extras, reasons."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from ingestion.usage_logs.contract_sql import plain_extra_keys
from ingestion.usage_logs.line_reader import iter_jsonl_lines
from ingestion.usage_logs.normalize import connect, normalize_arrow
from ingestion.usage_logs.reader import _with_source
from tests.conftest import event


def normalize_text(text: str | bytes) -> tuple[list[dict], list[dict]]:
    data = text.encode() if isinstance(text, str) else text
    lines = pa.concat_tables(list(iter_jsonl_lines(io.BytesIO(data), block_bytes=64)))
    lines = _with_source(lines, "file:///logs/t.jsonl", datetime(2026, 11, 1, tzinfo=UTC))
    batch = next(normalize_arrow(connect(), lines))
    return batch.events.to_pylist(), batch.quarantine.to_pylist()


def one(record: dict) -> dict:
    events, quarantine = normalize_text(json.dumps(record))
    assert quarantine == [], quarantine
    return events[0]


def reasons_of(record: dict | str) -> str:
    events, quarantine = normalize_text(record if isinstance(record, str) else json.dumps(record))
    assert events == []
    return quarantine[0]["reason"]


def test_every_contract_field_is_typed_and_kept():
    row = one(
        {
            "timestamp": "2026-11-01T10:15:30.250Z",
            "request_id": "r-1",
            "attempt": 2,
            "tenant_id": "acme",
            "user_id": "u-7",
            "feature": "support_bot",
            "agent": "support-agent",
            "action_type": "User_Interaction",
            "provider": "Anthropic",
            "model": "claude-sonnet-4-5-20250929",
            "region": "eu-west-1",
            "key_source": "BYOK",
            "input_tokens": 5000,
            "output_tokens": 700,
            "cache_read_tokens": 3000,
            "cache_write_tokens": 1000,
            "cache_write_1h_tokens": 400,
            "reasoning_tokens": 300,
            "total_tokens": 5700,
            "latency_ms": 1234,
            "status": "timeout",
            "retry_count": 1,
            "cache_hit": True,
            "batch": False,
            "service_tier": "priority",
            "session_id": "s-1",
            "prompt_template_id": "tpl-3",
            "computed_cost": 0.0123456789,
        }
    )
    assert row["timestamp"] == datetime(2026, 11, 1, 10, 15, 30, 250000, tzinfo=UTC)
    assert row["request_id"] == "r-1" and row["attempt"] == 2
    assert (row["tenant_id"], row["user_id"], row["feature"], row["agent"]) == (
        "acme",
        "u-7",
        "support_bot",
        "support-agent",
    )
    assert row["action_type"] == "user_interaction"  # lower-cased
    assert row["provider"] == "anthropic" and row["model"] == "claude-sonnet-4-5-20250929"
    assert row["region"] == "eu-west-1" and row["key_source"] == "byok"
    assert (row["input_tokens"], row["output_tokens"]) == (5000, 700)
    assert (row["cache_read_tokens"], row["cache_write_tokens"], row["cache_write_1h_tokens"]) == (
        3000,
        1000,
        400,
    )
    assert row["reasoning_tokens"] == 300 and row["total_tokens"] == 5700
    assert row["latency_ms"] == 1234 and row["status"] == "timeout" and row["retry_count"] == 1
    assert row["cache_hit"] is True and row["batch"] is False and row["service_tier"] == "priority"
    assert row["session_id"] == "s-1" and row["prompt_template_id"] == "tpl-3"
    assert row["computed_cost"] == Decimal("0.0123456789")
    assert row["extra_fields"] is None
    assert row["_source_file"] == "file:///logs/t.jsonl" and row["_source_line"] == 1


def test_openai_style_aliases_are_accepted_and_canonical_names_win():
    row = one(
        {
            **event(1),
            "input_tokens": None,
            "output_tokens": None,
            "prompt_tokens": 900,
            "completion_tokens": 80,
        }
    )
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (900, 80, 980)
    row = one({**event(1, cache_read_tokens=0), "input_tokens": 10, "prompt_tokens": 99})
    assert row["input_tokens"] == 10


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-01T12:00:00Z", datetime(2026, 11, 1, 12, tzinfo=UTC)),
        ("2026-11-01T14:00:00+02:00", datetime(2026, 11, 1, 12, tzinfo=UTC)),
        ("2026-11-01T07:00:00-05:00", datetime(2026, 11, 1, 12, tzinfo=UTC)),
        ("2026-11-01 12:00:00", datetime(2026, 11, 1, 12, tzinfo=UTC)),  # no offset: UTC
        (1793534400000, datetime(2026, 11, 1, 12, tzinfo=UTC)),  # epoch milliseconds
        ("1793534400000", datetime(2026, 11, 1, 12, tzinfo=UTC)),
    ],
)
def test_timestamps_are_stored_in_utc(value, expected):
    assert one(event(1, timestamp=value))["timestamp"] == expected


@pytest.mark.parametrize(
    "value", ["yesterday", "2026-13-45T00:00:00Z", 1793534400, "", None, 1e30, 9e18, "-9e18"]
)
def test_unusable_timestamps_are_quarantined(value):
    # 1793534400 is in seconds, not milliseconds: read as ms it lands in 1970. Numbers beyond any
    # timestamp are a bad record too, not an error that fails the whole batch.
    reason = reasons_of(event(1, timestamp=value))
    assert reason in ("invalid_timestamp", "missing_field:timestamp")


def test_defaults_of_optional_fields():
    row = one(
        {
            k: v
            for k, v in event(1).items()
            if k
            in (
                "timestamp",
                "request_id",
                "tenant_id",
                "provider",
                "model",
                "input_tokens",
                "output_tokens",
            )
        }
    )
    assert row["attempt"] == 1
    assert row["feature"] == "unattributed" and row["action_type"] == "other"
    assert (
        row["key_source"] == "system"
        and row["status"] == "ok"
        and row["service_tier"] == "standard"
    )
    assert (
        row["cache_read_tokens"],
        row["cache_write_tokens"],
        row["reasoning_tokens"],
        row["retry_count"],
    ) == (0, 0, 0, 0)
    assert row["cache_hit"] is False and row["batch"] is False
    assert row["user_id"] is None and row["latency_ms"] is None and row["computed_cost"] is None


def test_cache_hit_is_derived_and_batch_means_batch_tier():
    assert one(event(1, cache_read_tokens=10))["cache_hit"] is True
    row = one(event(1, batch=True, service_tier="standard"))
    assert row["batch"] is True and row["service_tier"] == "batch"
    assert one(event(1, service_tier="batch"))["batch"] is True


def test_unknown_fields_are_kept_as_json_and_null_extras_are_dropped():
    row = one(event(1, gateway="litellm", metadata={"env": "prod", "tags": [1, 2]}, trace=None))
    assert json.loads(row["extra_fields"]) == {
        "gateway": "litellm",
        "metadata": {"env": "prod", "tags": [1, 2]},
    }
    assert one(event(2, trace=None))["extra_fields"] is None


def _extras_of(records: list[dict]) -> list[dict | None]:
    events, quarantine = normalize_text("\n".join(json.dumps(r) for r in records) + "\n")
    assert quarantine == []
    by_line = sorted(events, key=lambda e: e["_source_line"])
    return [None if e["extra_fields"] is None else json.loads(e["extra_fields"]) for e in by_line]


def test_extra_keys_of_a_batch_are_read_in_the_same_pass_as_the_contract_fields():
    assert plain_extra_keys(["model", "metadata", "gateway", "x-trace.id", "model"]) == (
        "gateway",
        "metadata",
        "x-trace.id",
    )
    records = [
        event(1, metadata={"env": "prod", "user": None}),
        event(2, metadata=None),
        event(3),
        event(4, gateway="litellm", metadata={"env": "dev"}),
        event(5, gateway=0, **{"x-trace.id": "t-1"}),
    ]
    assert _extras_of(records) == [
        {"metadata": {"env": "prod"}},  # nested nulls are dropped too
        None,
        None,
        {"gateway": "litellm", "metadata": {"env": "dev"}},
        {"gateway": 0, "x-trace.id": "t-1"},
    ]


@pytest.mark.parametrize(
    "odd_keys",
    [
        [f"tag_{i}" for i in range(40)],  # more distinct extra keys than a struct takes
        ["Model", "METADATA", "metadata"],  # equal to another key but for case
        ["a key with spaces", 'quote"d', ""],  # not plain names
    ],
)
def test_batches_whose_extra_keys_cannot_be_struct_fields_are_checked_line_by_line(odd_keys):
    assert plain_extra_keys(odd_keys) is None
    records = [event(i, **{key: i}) for i, key in enumerate(odd_keys)] + [event(99)]
    assert _extras_of(records) == [{key: i} for i, key in enumerate(odd_keys)] + [None]


@pytest.mark.parametrize("value", [1e12, 1e300, "NaN", "inf"])
def test_a_gateway_cost_beyond_the_decimal_type_is_a_bad_value_not_a_failed_batch(value):
    assert reasons_of(event(1, computed_cost=value)) == "invalid_value:computed_cost"


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ("{not json", "invalid_json"),
        ("[1, 2, 3]", "not_a_json_object"),
        ('"just a string"', "not_a_json_object"),
        (event(1, request_id=None), "missing_field:request_id"),
        (event(1, tenant_id=""), "missing_field:tenant_id"),
        (event(1, model=None), "missing_field:model"),
        (event(1, input_tokens=-5, cache_read_tokens=0), "negative_value:input_tokens"),
        (event(1, output_tokens=-1), "negative_value:output_tokens"),
        (event(1, latency_ms=-3), "negative_value:latency_ms"),
        (event(1, input_tokens="many"), "invalid_value:input_tokens"),
        (event(1, input_tokens=12.5), "invalid_value:input_tokens"),
        (event(1, attempt=0), "invalid_value:attempt"),
        (event(1, key_source="partner"), "invalid_value:key_source"),
        (event(1, batch="sometimes"), "invalid_value:batch"),
        (event(1, input_tokens=100, cache_read_tokens=150), "cache_read_exceeds_input"),
        (
            event(1, input_tokens=100, cache_read_tokens=60, cache_write_tokens=50),
            "cache_write_exceeds_uncached_input",
        ),
        (
            event(1, cache_write_tokens=10, cache_write_1h_tokens=20),
            "cache_write_1h_exceeds_cache_write",
        ),
        (event(1, output_tokens=10, reasoning_tokens=11), "reasoning_exceeds_output"),
        (event(1, input_tokens=100, output_tokens=10, total_tokens=111), "total_tokens_mismatch"),
    ],
)
def test_bad_records_are_quarantined_with_their_reason(record, reason):
    assert reason in reasons_of(record).split("; ")


def test_every_reason_of_a_record_is_listed():
    reasons = reasons_of(
        event(1, timestamp="bad", request_id=None, input_tokens=10, cache_read_tokens=20)
    )
    assert reasons.split("; ") == [
        "missing_field:request_id",
        "invalid_timestamp",
        "cache_read_exceeds_input",
    ]


def test_integral_floats_and_numeric_strings_are_accepted():
    row = one(event(1, input_tokens=1200.0, output_tokens="30", cache_read_tokens="0"))
    assert (row["input_tokens"], row["output_tokens"]) == (1200, 30)


def test_an_object_after_leading_white_space_is_still_an_object():
    text = "  \t" + json.dumps(event(1)) + "\n " + json.dumps([1, 2])
    events, quarantine = normalize_text(text)
    assert [e["request_id"] for e in events] == [event(1)["request_id"]]
    assert [(q["_source_line"], q["reason"]) for q in quarantine] == [(2, "not_a_json_object")]


def test_line_numbers_raw_text_blank_lines_and_crlf():
    text = json.dumps(event(1)) + "\r\n\r\n" + "oops\r\n" + json.dumps(event(2))  # no final newline
    events, quarantine = normalize_text(text)
    assert [e["_source_line"] for e in events] == [1, 4]
    assert [(q["_source_line"], q["reason"], q["raw_text"]) for q in quarantine] == [
        (2, "empty_line", ""),
        (3, "invalid_json", "oops"),
    ]


def test_invalid_utf8_does_not_lose_lines():
    good = json.dumps(event(1)).encode()
    bad = (
        json.dumps(event(2, feature="caf\u00e9"), ensure_ascii=False)
        .encode()
        .replace("\u00e9".encode(), b"\xff")
    )
    events, quarantine = normalize_text(
        good + b"\n" + bad + b"\n" + good.replace(b"req-1", b"req-3") + b"\n"
    )
    assert len(events) + len(quarantine) == 3
    # Quarantined, never loaded with its bytes replaced (two values would merge).
    assert [e["_source_line"] for e in events] == [1, 3]
    assert [(q["_source_line"], q["reason"]) for q in quarantine] == [(2, "invalid_utf8")]
    assert "caf\ufffd" in quarantine[0]["raw_text"]
