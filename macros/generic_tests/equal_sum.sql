{#- Fails when a column's total differs from another model's column total, e.g.
    a mart's revenue against its fact's. Totals compare exactly: both sides are
    decimals summed from the same rows. -#}
{% test equal_sum(model, column_name, compare_model, compare_column) %}
    with

    totals as (
        select
            (select coalesce(sum({{ column_name }}), 0) from {{ model }}) as model_total,
            (select coalesce(sum({{ compare_column }}), 0) from {{ compare_model }}) as compare_total
    )

    select * from totals
    where model_total != compare_total
{% endtest %}
