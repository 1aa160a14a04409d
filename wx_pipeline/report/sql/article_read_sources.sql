-- Readers of the articles sent in the period by where they came from, each article counted
-- on its newest day; NULL where the API did not report the source.
select
    p.account_id,
    s.position,
    s.source,
    sum(s.readers)::bigint as readers
from analytics.fct_article_performance as p
cross join lateral (
    values
    (1, 'Account message in chats', p.read_users_from_conversation),
    (2, 'Chats / friends'' shares', p.read_users_from_chat),
    (3, 'Moments', p.read_users_from_moments),
    (4, 'Account home page / history', p.read_users_from_history),
    (5, 'Top Stories / recommended', p.read_users_from_top_stories),
    (6, 'Search', p.read_users_from_search),
    (7, 'Other', p.read_users_from_other)
) as s (position, source, readers)
where p.account_id = any(cast(:accounts as text[])) and p.send_date between :first and :last
group by p.account_id, s.position, s.source
order by p.account_id, s.position
