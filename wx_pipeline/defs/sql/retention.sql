-- Sorts finished runs past the retention horizon (:run_ids): deletes the event rows no view is
-- built from and the superseded check executions. Kept: each asset partition's latest
-- materialisation or observation (Dagster derives partition status from them, and rebuilds it
-- from them when a partitions definition changes), each asset check's latest evaluation and
-- its execution, and the planned materialisations of the runs that did not succeed
-- (:unsuccessful: their partitions show as failed). The asset event tags of deleted rows go
-- with them. Returns the event rows deleted and the runs that still hold some.
with latest_checks as (
    select distinct on (asset_key, check_name, partition) evaluation_event_storage_id as id
    from asset_check_executions
    where evaluation_event_storage_id is not null
    order by asset_key, check_name, partition, id desc
),

gone as (
    delete from event_logs as e
    where
        e.run_id = any(:run_ids)
        and not (
            coalesce(e.dagster_event_type, '') = any(:asset_events)
            and not exists (
                select from event_logs as newer
                where
                    newer.asset_key = e.asset_key
                    and newer.dagster_event_type = e.dagster_event_type
                    and newer.id > e.id
                    and (
                        newer.partition = e.partition
                        or (newer.partition is null and e.partition is null)
                    )
            )
        )
        and not (
            coalesce(e.dagster_event_type, '') = :check_evaluation
            and e.id in (select latest_checks.id from latest_checks)
        )
        and not (
            coalesce(e.dagster_event_type, '') = :planned
            and e.run_id = any(:unsuccessful)
        )
    returning e.id
),

gone_tags as (
    delete from asset_event_tags
    where event_id in (select gone.id from gone)
),

gone_checks as (
    delete from asset_check_executions as x
    where
        x.run_id = any(:run_ids)
        and exists (
            select from asset_check_executions as newer
            where
                newer.asset_key = x.asset_key
                and newer.check_name = x.check_name
                and newer.id > x.id
                and newer.evaluation_event_storage_id is not null
                and (
                    newer.partition = x.partition
                    or (newer.partition is null and x.partition is null)
                )
        )
)

select
    (select count(*) from gone) as events_deleted,
    array(
        select distinct e.run_id
        from event_logs as e
        where e.run_id = any(:run_ids) and e.id not in (select gone.id from gone)
    ) as kept_runs
