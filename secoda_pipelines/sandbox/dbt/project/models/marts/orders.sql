select
    orders.order_id,
    orders.customer_id,
    orders.order_date,
    orders.status,
    payments.credit_card_amount,
    payments.coupon_amount,
    payments.bank_transfer_amount,
    payments.gift_card_amount,
    coalesce(payments.total_amount, 0) as amount
from {{ ref('stg_orders') }} as orders
left join {{ ref('int_order_payments') }} as payments
    on orders.order_id = payments.order_id
