select request_id, attempt
from {{ ref('fct_llm_attempts') }}
where (uncached_input_cost < 0
    or cache_read_cost < 0
    or cache_write_cost < 0
    or output_cost < 0
    or total_cost < 0)
    {% set changed = changed_rows_condition(ref('fct_llm_attempts')) %}
    {% if changed %}
    -- Scoped (macros/test_scope.sql): the attempts this run priced.
    and {{ changed }}
    {% endif %}
