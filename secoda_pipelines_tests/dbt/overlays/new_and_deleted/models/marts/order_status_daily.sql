select
    order_date,
    status,
    count(*) as number_of_orders
from {{ ref('orders') }}
group by order_date, status
