#!/usr/bin/env bash
# Chainsignal backup, one timestamped file per run; meant for cron.
#
#   SQLite (DATABASE_URL unset, empty or sqlite:...):
#       chainsignal backup --out FILE (a consistent online copy), then gzip
#       -> chainsignal-20261122T031500Z.sqlite.gz
#   PostgreSQL (DATABASE_URL=postgres://...):
#       pg_dump --format=custom (already compressed; pg_dump on the host must be at
#       least the server's major version: apt-get install postgresql-client)
#       -> chainsignal-20261122T031500Z.pgdump
#   Docker Compose deployment (BACKUP_COMPOSE_FILE set): pg_dump runs inside the `db`
#       container, so neither pg_dump on the host nor a published port is needed.
#
# Then deletes backups older than RETENTION_DAYS, runs UPLOAD_CMD if set, and prints
# one line: "<UTC time> chainsignal-backup: ok ..." on stdout, or "... FAILED ..." on
# stderr with a non-zero exit status.
#
# Environment (all optional):
#   BACKUP_DIR           where backups go (default /var/backups/chainsignal; made 0700)
#   RETENTION_DAYS       days to keep (default 14); only pruned after a good backup
#   UPLOAD_CMD           off-site copy: run with the backup's path appended as the last
#                        argument; split on spaces, no quoting, so for anything more
#                        point it at a script, e.g. /usr/local/bin/chainsignal-upload:
#                            #!/bin/sh
#                            exec rclone copy "$1" offsite:chainsignal/
#   ENV_FILE             a KEY=value file to read first, e.g. the systemd unit's
#                        /etc/chainsignal/chainsignal.env (for DATABASE_URL); parsed,
#                        not executed; variables already set in the environment win
#   DATABASE_URL         as for the bot
#   CHAINSIGNAL_BIN      the binary (default: chainsignal from PATH, /usr/local/bin added)
#   CHAINSIGNAL_CONFIG   passed as --config (e.g. /etc/chainsignal/chainsignal.toml)
#   CHAINSIGNAL_WORKDIR  directory to run the binary in: a relative sqlite_path resolves
#                        there (default: the current directory; cron starts jobs in the
#                        user's home, /var/lib/chainsignal for the systemd setup)
#   BACKUP_COMPOSE_FILE  path of deploy/compose.yaml: dump the compose `db` service
#   COMPOSE_CMD          compose command (default: "docker compose", else docker-compose)
#
# Crontab lines (/etc/cron.d/chainsignal, with the user field as here; or `crontab -e`
# as that user without it):
#   # Docker Compose setup (root, or a member of the docker group):
#   15 3 * * * root BACKUP_COMPOSE_FILE=/opt/chainsignal/deploy/compose.yaml /opt/chainsignal/deploy/backup.sh >>/var/log/chainsignal-backup.log 2>&1
#   # systemd setup with SQLite: as the service user, so that SQLite's -wal/-shm files
#   # are never created as root (first: install -d -o chainsignal -g chainsignal -m 0700 /var/backups/chainsignal)
#   15 3 * * * chainsignal CHAINSIGNAL_WORKDIR=/var/lib/chainsignal CHAINSIGNAL_CONFIG=/etc/chainsignal/chainsignal.toml /opt/chainsignal/deploy/backup.sh >>/var/backups/chainsignal/backup.log 2>&1
#   # systemd setup with PostgreSQL: as root, which can read the 0600 env file
#   15 3 * * * root ENV_FILE=/etc/chainsignal/chainsignal.env /opt/chainsignal/deploy/backup.sh >>/var/log/chainsignal-backup.log 2>&1
#
# The log line says kind=sqlite|postgres|postgres-compose: with PostgreSQL, make sure
# the job sees DATABASE_URL (ENV_FILE), or it backs up the SQLite default instead.
# Restore: see README.md, Deploy ("Restore").

set -euo pipefail
umask 077
# cron's PATH is only /usr/bin:/bin; chainsignal lives in /usr/local/bin.
export PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin"

log_time() { date -u +%Y-%m-%dT%H:%M:%SZ; }

done_line=""
partial=""
errlog=""
cleanup() {
    local status=$?
    [[ -n $partial ]] && rm -f -- "$partial" "$partial.gz"
    if ((status != 0)) && [[ -z $done_line ]]; then
        printf '%s chainsignal-backup: FAILED (exit %d)\n' "$(log_time)" "$status" >&2
    fi
    [[ -n $errlog ]] && rm -f -- "$errlog"
    return "$status"
}
trap cleanup EXIT

# die MESSAGE: the run's one line, on stderr, and exit 1.
die() {
    done_line="failed"
    printf '%s chainsignal-backup: FAILED: %s\n' "$(log_time)" "$*" >&2
    exit 1
}

# step NAME COMMAND...: run COMMAND with its stderr kept aside; on failure, die with
# NAME and the command's last line of stderr.
step() {
    local name=$1 rc=0 why
    shift
    "$@" 2>"$errlog" || rc=$?
    if ((rc != 0)); then
        why=$(tail -n 1 "$errlog" 2>/dev/null || true)
        die "$name failed: ${why:-exit status $rc}"
    fi
}

# Percent-decoding for the password part of a URL.
urldecode() {
    local s=${1//\\/\\\\}
    printf '%b' "${s//%/\\x}"
}

# KEY=value lines as systemd's EnvironmentFile= has them (optional quotes, comments);
# read as data, never run as shell code (a URL's "&" must stay a character).
load_env_file() {
    local line key value
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line#"${line%%[![:space:]]*}"}
        [[ -z $line || $line == '#'* ]] && continue
        line=${line#export }
        [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
        key=${BASH_REMATCH[1]}
        value=${BASH_REMATCH[2]}
        if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then
            value=${BASH_REMATCH[1]}
        fi
        [[ -n ${!key+set} ]] || export "$key=$value"
    done <"$1"
}

if [[ -n ${ENV_FILE:-} ]]; then
    [[ -r $ENV_FILE ]] || die "ENV_FILE $ENV_FILE is not readable"
    load_env_file "$ENV_FILE"
fi

backup_dir=${BACKUP_DIR:-/var/backups/chainsignal}
retention_days=${RETENTION_DAYS:-14}
[[ $retention_days =~ ^[1-9][0-9]*$ ]] || die "RETENTION_DAYS must be a positive number of days, not '$retention_days'"

mkdir -p -- "$backup_dir" 2>/dev/null || die "cannot create BACKUP_DIR $backup_dir"
[[ -w $backup_dir ]] || die "BACKUP_DIR $backup_dir is not writable"
errlog=$(mktemp "$backup_dir/.chainsignal-backup.err.XXXXXX") || die "cannot write to $backup_dir"

# One run at a time (a slow upload must not overlap the next cron run).
exec 9>"$backup_dir/.chainsignal-backup.lock"
flock -n 9 || die "another backup is still running in $backup_dir"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
database_url=${DATABASE_URL:-}

if [[ -n ${BACKUP_COMPOSE_FILE:-} ]]; then
    kind=postgres-compose
    final="$backup_dir/chainsignal-$stamp.pgdump"
    [[ -r $BACKUP_COMPOSE_FILE ]] || die "BACKUP_COMPOSE_FILE $BACKUP_COMPOSE_FILE is not readable"
    if [[ -n ${COMPOSE_CMD:-} ]]; then
        read -r -a compose <<<"$COMPOSE_CMD"
    elif docker compose version >/dev/null 2>&1; then
        compose=(docker compose)
    elif command -v docker-compose >/dev/null 2>&1; then
        compose=(docker-compose)
    else
        die "neither 'docker compose' nor docker-compose found"
    fi
    partial="$backup_dir/.chainsignal-$stamp.pgdump.partial"
    # Local socket inside the container: the image trusts it, no password needed.
    step "pg_dump in the db container" \
        "${compose[@]}" -f "$BACKUP_COMPOSE_FILE" exec -T db \
        pg_dump --username=chainsignal --dbname=chainsignal --format=custom --no-password \
        >"$partial"
    step "checking the dump" \
        "${compose[@]}" -f "$BACKUP_COMPOSE_FILE" exec -T db pg_restore --list \
        <"$partial" >/dev/null
elif [[ $database_url == postgres://* || $database_url == postgresql://* ]]; then
    kind=postgres
    final="$backup_dir/chainsignal-$stamp.pgdump"
    command -v pg_dump >/dev/null || die "pg_dump not found (apt-get install postgresql-client)"
    # Keep the password out of the process list: PGPASSWORD in pg_dump's environment
    # (readable only by this user and root) and the URL without it. Without a password
    # in the URL, PGPASSWORD or ~/.pgpass apply as usual.
    if [[ $database_url =~ ^(postgres(ql)?://)([^:@/]*):([^@/]*)@(.*)$ ]]; then
        PGPASSWORD=$(urldecode "${BASH_REMATCH[4]}")
        export PGPASSWORD
        database_url="${BASH_REMATCH[1]}${BASH_REMATCH[3]}@${BASH_REMATCH[5]}"
    fi
    partial="$backup_dir/.chainsignal-$stamp.pgdump.partial"
    step "pg_dump" pg_dump --format=custom --no-password --file="$partial" --dbname="$database_url"
    if command -v pg_restore >/dev/null; then
        step "checking the dump" pg_restore --list "$partial" >/dev/null
    fi
elif [[ -z $database_url || $database_url == sqlite:* ]]; then
    kind=sqlite
    final="$backup_dir/chainsignal-$stamp.sqlite.gz"
    chainsignal=${CHAINSIGNAL_BIN:-chainsignal}
    command -v "$chainsignal" >/dev/null || die "$chainsignal not found (set CHAINSIGNAL_BIN)"
    if [[ -n ${CHAINSIGNAL_WORKDIR:-} ]]; then
        cd -- "$CHAINSIGNAL_WORKDIR" || die "cannot enter CHAINSIGNAL_WORKDIR $CHAINSIGNAL_WORKDIR"
    fi
    args=(backup)
    [[ -n ${CHAINSIGNAL_CONFIG:-} ]] && args+=(--config "$CHAINSIGNAL_CONFIG")
    partial="$backup_dir/.chainsignal-$stamp.sqlite.partial"
    step "chainsignal backup" "$chainsignal" "${args[@]}" --out "$partial"
    [[ -s $partial ]] || die "chainsignal backup wrote no data to $partial"
    # SQLite files compress well (typically 3-10x).
    step "gzip" gzip -q "$partial"
    step "checking the archive" gzip -t "$partial.gz"
    partial="$partial.gz"
else
    die "DATABASE_URL is neither postgres://... nor sqlite:..."
fi

[[ -s $partial ]] || die "the backup is empty"
[[ ! -e $final ]] || die "$final already exists"
mv -- "$partial" "$final"
partial=""
size=$(stat -c %s -- "$final")

# Retention: after a good backup only, and only this script's own files.
pruned=0
while IFS= read -r -d '' old; do
    rm -f -- "$old" && pruned=$((pruned + 1))
done < <(find "$backup_dir" -maxdepth 1 -type f \
    \( -name 'chainsignal-*.pgdump' -o -name 'chainsignal-*.sqlite.gz' \) \
    -mmin +$((retention_days * 24 * 60)) -print0)
# Leftovers of runs that were killed.
find "$backup_dir" -maxdepth 1 -type f \( -name '.chainsignal-*.partial*' -o -name '.chainsignal-backup.err.*' \) \
    -mmin +1440 -delete 2>/dev/null || true

upload=skipped
if [[ -n ${UPLOAD_CMD:-} ]]; then
    read -r -a upload_cmd <<<"$UPLOAD_CMD"
    step "upload (the backup is kept: $final)" "${upload_cmd[@]}" "$final"
    upload=ok
fi

done_line="ok"
printf '%s chainsignal-backup: ok kind=%s file=%s bytes=%s pruned=%d upload=%s\n' \
    "$(log_time)" "$kind" "$final" "$size" "$pruned" "$upload"
