#!/bin/sh
# Entrypoint of the stand-in for the official postgres image (deploy/rehearse.py builds it from
# Debian's PostgreSQL where Docker Hub cannot be reached). What docker-compose.yml relies on
# behaves as the official image's does: on an empty data directory, a cluster whose superuser
# is POSTGRES_USER (default postgres) with POSTGRES_PASSWORD, a database POSTGRES_DB (default
# the user's name), password authentication over TCP; then `postgres` as the postgres user.
set -eu

PGDATA=${PGDATA:-/var/lib/postgresql/data}

if [ "$(id -u)" = 0 ]; then
    # The volume arrives owned by root: give it to the postgres user, then drop root.
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "postgres: POSTGRES_PASSWORD must be set (the superuser's password)" >&2
        exit 1
    fi
    user=${POSTGRES_USER:-postgres}
    database=${POSTGRES_DB:-$user}
    # The password reaches initdb through a file only this user reads, never an argument.
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb --pgdata="$PGDATA" --username="$user" --pwfile="$pwfile" --encoding=UTF8 \
        --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    if [ "$database" != postgres ]; then
        echo "CREATE DATABASE \"$database\"" | postgres --single -D "$PGDATA" postgres >/dev/null
    fi
    echo "postgres: initialised $PGDATA (user $user, database $database)"
fi

exec "$@"
