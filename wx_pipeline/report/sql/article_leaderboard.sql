-- The :top articles sent in the period per account by readers on their newest day
-- (stats_through_day), with their day 0..6 cumulative readers for the read curve.
with articles as (
    select
        account_id,
        msgid,
        send_date,
        title,
        target_user,
        target_user_is_estimated,
        stats_through_day,
        read_rate,
        array[
            read_users_day_0, read_users_day_1, read_users_day_2, read_users_day_3,
            read_users_day_4, read_users_day_5, read_users_day_6
        ] as read_curve,
        (array[
            share_users_day_0, share_users_day_1, share_users_day_2, share_users_day_3,
            share_users_day_4, share_users_day_5, share_users_day_6
        ])[stats_through_day + 1] as sharers,
        (array[
            favourite_users_day_0, favourite_users_day_1, favourite_users_day_2,
            favourite_users_day_3, favourite_users_day_4, favourite_users_day_5,
            favourite_users_day_6
        ])[stats_through_day + 1] as favourites
    from analytics.fct_article_performance
    where account_id = any(cast(:accounts as text[])) and send_date between :first and :last
),

ranked as (
    select
        *,
        read_curve[stats_through_day + 1] as readers,
        row_number() over (
            partition by account_id
            order by read_curve[stats_through_day + 1] desc nulls last, send_date, msgid
        ) as rank
    from articles
)

select
    account_id,
    rank,
    msgid,
    send_date,
    title,
    readers,
    read_rate,
    sharers,
    favourites,
    stats_through_day,
    target_user,
    target_user_is_estimated,
    read_curve
from ranked
where rank <= :top
order by account_id, rank
