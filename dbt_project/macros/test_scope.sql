{#
  Test scope. A scheduled run (Dagster sets TOKENLAKE_DBT_TEST_SCOPE=changed) tests the rows it
  wrote, so that an hourly run costs what its new data costs instead of re-reading all history:
    - a relation with a `priced_at` column (the priced attempts, the incremental rollups and
      request facts, the views over them) is tested on its rows priced since this invocation
      started (a first build and a price correction stamp every row they touch, so those rows
      are all tested; a --full-refresh tests every row);
    - the usage-log staging view (`load_id`, no `priced_at`) is tested on the loads not priced
      yet (its tests run before the pricing model), i.e. the ones this run prices;
    - a relation without either (rebuilt whole on every run) is tested whole.
  A plain `dbt build` (scope unset, or `all`) tests every row.
#}

{% macro test_scope_is_changed() -%}
    {#- Read at execution only: a parse that read it would be redone whenever it changes. -#}
    {{ return(execute and env_var('TOKENLAKE_DBT_TEST_SCOPE', 'all') | lower == 'changed') }}
{%- endmacro %}

{# The time this invocation started, as the timestamp the incremental models stamp rows with. #}
{% macro run_started_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#
  SQL condition selecting the rows of `relation` this run wrote; '' when every row is tested.
  It is applied only when it leaves some row out: on a first build every row is this run's, and
  a plain test is cheaper than a scoped one (a uniqueness test's key lookup, say).
  Rows stamped with `priced_at` all derive from the priced attempts, so the table of priced
  attempts is probed instead of `relation`: a view over a join (the drill-down) would compute
  the join to find its first row. Applying the condition is always correct; the probe only
  spares the scoped form where it would keep every row.
#}
{% macro changed_rows_condition(relation) -%}
    {%- set condition = changed_rows_candidate(relation) -%}
    {%- if condition -%}
        {%- set probed = priced_attempts_relation() if condition.startswith('priced_at') else none -%}
        {%- set outside = run_query('select count(*) from (select 1 from ' ~ (probed or relation)
            ~ ' where not coalesce(' ~ condition ~ ', false) limit 1) as outside') -%}
        {%- if outside.columns[0].values()[0] == 0 -%}
            {{ return('') }}
        {%- endif -%}
    {%- endif -%}
    {{ return(condition) }}
{%- endmacro %}

{# The table of priced attempts (int_attempts_priced), looked up rather than ref()'d; none if absent. #}
{% macro priced_attempts_relation() -%}
    {%- set priced = graph.nodes.get('model.' ~ project_name ~ '.int_attempts_priced') -%}
    {%- if not priced -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_relation(database=priced.database, schema=priced.schema, identifier=priced.alias)) }}
{%- endmacro %}

{% macro changed_rows_candidate(relation) -%}
    {%- if not test_scope_is_changed() or flags.FULL_REFRESH -%}
        {{ return('') }}
    {%- endif -%}
    {%- set names = relation_column_names(relation) -%}
    {%- if 'priced_at' in names -%}
        {{ return('priced_at >= ' ~ run_started_timestamp()) }}
    {%- endif -%}
    {%- if 'load_id' in names -%}
        {#- Staging is tested before the pricing model runs: the loads it has not priced yet are
            this run's new rows. Looked up, not ref()'d: a test of staging does not depend on it. -#}
        {%- set priced_relation = priced_attempts_relation() -%}
        {%- if priced_relation -%}
            {{ return("load_id > (select coalesce(max(load_id), '') from " ~ priced_relation ~ ")") }}
        {%- endif -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

{#
  The lower-cased column names of `relation`. A mart's are read from its yml, which describes
  every column the built mart has and no other (tests/dbt/test_marts.py checks it): no catalog
  query per test (dbt's column lookup was about an eighth of a no-change `dbt build`'s CPU).
  Other relations are asked for their columns.
#}
{% macro relation_column_names(relation) -%}
    {%- if (relation.schema | lower) == 'marts' -%}
        {%- for node in graph.nodes.values()
            if node.resource_type == 'model' and node.schema == 'marts' and node.columns
               and (node.alias | lower) == (relation.identifier | lower) -%}
            {{ return(node.columns.keys() | map('lower') | list) }}
        {%- endfor -%}
    {%- endif -%}
    {{ return(adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list) }}
{%- endmacro %}

{# The key columns of a uniqueness test of the node being compiled (none for other tests, and for
   one scoped to its changed rows only: below). #}
{% macro uniqueness_test_keys() -%}
    {%- set test = model.get('test_metadata') if model is mapping else none -%}
    {%- set meta = model.get('config', {}).get('meta') if test else none -%}
    {%- if not test or (meta is mapping and meta.get('scope_by_key') == false) -%}
        {{ return(none) }}
    {%- elif test.get('name') == 'unique' -%}
        {{ return([test.get('kwargs', {}).get('column_name')]) }}
    {%- elif test.get('name') == 'unique_combination' -%}
        {{ return(test.get('kwargs', {}).get('columns')) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#
  dbt's own hook for generic tests (not_null, unique, accepted_values, column_checks, ...):
  the `where` config of a test, and the test scope above. A uniqueness test keeps every row
  whose key a changed row has, so that a new row repeating an old key is still caught; a test
  with `meta: {scope_by_key: false}` keeps the changed rows only: for a view whose duplicates
  can only come from relations that are tested by key themselves (its yml says which), where
  the key lookup would compute the whole view.
  The relation gets an alias: Spark reads `from t where (x)` as the alias `where` with a column
  list.
#}
{% macro get_where_subquery(relation) -%}
    {%- set changed = changed_rows_condition(relation) -%}
    {%- set keys = uniqueness_test_keys() if changed else none -%}
    {%- if keys -%}
        {%- set key_list = keys | join(', ') -%}
        {%- set changed -%}
            ({{ key_list }}) in (select {{ key_list }} from {{ relation }} where {{ changed }})
        {%- endset -%}
    {%- endif -%}
    {%- set conditions = [config.get('where', ''), changed] | select | list -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} as dbt_scoped_rows where ({{ conditions | join(') and (') }})) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}
