-- Every revenue mart adds up to fct_revenue: no mart drops or double-counts a
-- sale or a refund (unknown products and countries included). Rounded to cents, as in
-- equal_sum. Tagged at_rest: it holds once the marts have caught up with the
-- facts (CI, the pipeline's drain), not while they refresh at their own lags.
{{ config(tags=['at_rest']) }}

with

fact as (
    select round(coalesce(sum(net_revenue), 0), 2) as net_revenue
    from {{ ref('fct_revenue') }}
),

marts as (
    {%- set marts = [
        'rpt_sales_per_minute',
        'rpt_daily_sales',
        'rpt_product_performance',
        'rpt_category_performance',
        'rpt_regional_sales',
        'rpt_monthly_sales_by_category_region',
        'rpt_daily_sales_by_region_category',
        'rpt_regional_sales_per_minute',
    ] %}
    {%- for mart in marts %}
        select
            '{{ mart }}' as mart,
            round(coalesce(sum(net_revenue), 0), 2) as net_revenue
        from {{ ref(mart) }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
)

select
    marts.mart,
    marts.net_revenue as mart_net_revenue,
    fact.net_revenue as fct_revenue_net_revenue
from marts
cross join fact
where marts.net_revenue != fact.net_revenue
