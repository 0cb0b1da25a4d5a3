"""The FOCUS 1.2 export of the demo, checked by the FinOps Foundation's own validator, and its
totals against the attempts."""

from __future__ import annotations

import duckdb
import pytest

from tests.support.focus_validator import ensure_validator, validate

# A computed cost belongs to no issued invoice, so InvoiceId is NULL: the conditional rule that
# wants it filled "when the charge is associated with an invoice" cannot hold for such rows.
ACCEPTED = {"InvoiceId-C-005-C"}


@pytest.fixture(scope="module")
def validator():
    command = ensure_validator()
    if command is None:
        pytest.skip("focus-validator needs Python 3.12 or newer, and none is on this machine")
    return command


def test_the_focus_export_passes_the_finops_validator(demo_pipeline, validator):
    assert demo_pipeline.first_run_succeeded
    export = demo_pipeline.exports / "focus_llm_costs" / "data.parquet"
    assert "focus" in str(export) and export.exists()
    results = validate(validator, export)
    failed = {rule for rule, status in results.items() if status == "FAIL"}
    assert len(results) > 100  # the whole rule set ran
    assert not {r for r in failed if r.endswith("-M")}, sorted(failed)
    assert failed <= ACCEPTED, sorted(failed - ACCEPTED)


def test_focus_totals_equal_the_attempts(demo_pipeline):
    export = demo_pipeline.exports / "focus_llm_costs" / "data.parquet"
    with duckdb.connect(str(demo_pipeline.warehouse), read_only=True) as con:
        focus = con.execute(
            f"""select sum(ListCost), sum(BilledCost), sum(EffectiveCost), sum(ConsumedQuantity),
                       count(distinct SkuPriceId), min(ServiceCategory), min(ConsumedUnit)
                from read_parquet('{export}')"""
        ).fetchone()
        attempts = con.execute(
            """select sum(total_cost), sum(net_cost), sum(net_cost),
                      sum(uncached_input_tokens + cache_read_tokens + cache_write_tokens + output_tokens)
               from marts.fct_llm_attempts where is_priced and key_source = 'system'"""
        ).fetchone()
    assert [round(float(v), 6) for v in focus[:3]] == [round(float(v), 6) for v in attempts[:3]]
    assert focus[3] == attempts[3]
    assert focus[4] > 10 and focus[5:] == ("AI and Machine Learning", "Tokens")
