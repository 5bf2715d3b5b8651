{#- Fails when a column's total differs from another model's column total, e.g.
    a mart's revenue against its fact's. Money columns are decimals, so totals
    are exact; rounding to `precision` places only guards against an engine that
    sums through floating point. -#}
{% test equal_sum(model, column_name, compare_model, compare_column, precision=2) %}
    {#- Holds once both models have caught up (CI, the pipeline's drain), not
        while a streaming pipeline refreshes them at different lags. -#}
    {{ config(tags=['at_rest']) }}
    with

    totals as (
        select
            (select round(coalesce(sum({{ column_name }}), 0), {{ precision }}) from {{ model }})
                as model_total,
            (select round(coalesce(sum({{ compare_column }}), 0), {{ precision }}) from {{ compare_model }})
                as compare_total
    )

    select * from totals
    where model_total != compare_total
{% endtest %}
