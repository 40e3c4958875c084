select
    customers.customer_id,
    customers.first_order,
    coalesce(sum(orders.amount), 0) as lifetime_value,
    case
        when coalesce(sum(orders.amount), 0) >= 40 then 'high'
        when coalesce(sum(orders.amount), 0) >= 15 then 'medium'
        else 'low'
    end as value_segment
from {{ ref('customers') }} as customers
left join {{ ref('orders') }} as orders
    on customers.customer_id = orders.customer_id
    and orders.status not in ('returned', 'return_pending')
group by customers.customer_id, customers.first_order
