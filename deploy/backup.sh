#!/usr/bin/env bash
# Back up Mon espace santé: the PostgreSQL database and the encrypted files of MEDIA_ROOT, with a manifest.
#
#   DATABASE_URL=postgres://user:password@host:5432/espace_sante MEDIA_ROOT=/srv/media deploy/backup.sh /backups
#
# writes /backups/espace-sante-<UTC time>/ (mode 700) holding:
#   database.dump  pg_dump custom format (-Fc) of DATABASE_URL
#   media.tar      a tar of MEDIA_ROOT (the documents in it are already AES-256-GCM encrypted)
#   MANIFEST       the exact row count of every table, the number of files, the size and sha256 of both archives
#
# The row counts and the dump come from one snapshot (pg_export_snapshot + pg_dump --snapshot), so they
# match even while the portal writes. The files are archived after that snapshot: every file the dump refers
# to is in the tar unless it was deleted in between (a document deleted during the backup).
#
# The keys are NOT in the backup: DATA_ENCRYPTION_KEYS (files and encrypted columns), CODE_HASH_KEY and
# SECRET_KEY come from the environment or the secret store, and must be backed up there, separately. Without
# the key ring the encrypted files and columns of a restored backup cannot be read. The backup still holds
# personal data in clear (names, NIR, e-mail addresses): store it encrypted, access-controlled, off the host.
#
# Needs bash, pg_dump and psql of the server's major version or newer, GNU tar, sha256sum. deploy/restore.sh
# restores a backup into a new database and checks it against the manifest.
set -euo pipefail
umask 077

usage() {
    echo "usage: DATABASE_URL=postgres://… MEDIA_ROOT=/path $0 OUTPUT_DIR" >&2
    exit 2
}
[[ $# -eq 1 ]] || usage
: "${DATABASE_URL:?DATABASE_URL is required (postgres://user:password@host:port/name)}"
: "${MEDIA_ROOT:?MEDIA_ROOT is required}"
output_dir=$1
[[ -d $MEDIA_ROOT ]] || { echo "backup: MEDIA_ROOT $MEDIA_ROOT is not a directory" >&2; exit 1; }
mkdir -p "$output_dir"

seconds() { awk -v from="$1" -v to="$2" 'BEGIN { printf "%.1f", to - from }'; }
started=$EPOCHREALTIME
name="espace-sante-$(date -u +%Y%m%dT%H%M%SZ)"
final="$output_dir/$name"
work="$output_dir/.$name.partial"  # renamed at the end: an interrupted backup never looks complete
[[ ! -e $final && ! -e $work ]] || { echo "backup: $final already exists" >&2; exit 1; }
mkdir "$work"
cleanup() {
    if [[ -n ${psql_pid:-} ]]; then kill "$psql_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# Exact row count of every table (restore.sh runs the same query on the restored database).
ROW_COUNTS_SQL="SELECT format('%I.%I', n.nspname, c.relname),
       (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname),
                                            false, true, '')))[1]::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
 ORDER BY 1;"

# One psql session holds a repeatable-read transaction open: its snapshot is exported to pg_dump, and the
# row counts are read in it. The session is a coprocess; each query ends with a marker line.
coproc PSQL {
    exec psql --dbname="$DATABASE_URL" --no-psqlrc --quiet --tuples-only --no-align \
        --field-separator=$'\t' --set=ON_ERROR_STOP=1
}
psql_pid=$PSQL_PID  # bash unsets PSQL_PID as soon as the coprocess ends
MARK="-- end of rows $RANDOM$RANDOM --"
session_query() {
    printf '%s\n\\echo %s\n' "$1" "$MARK" >&"${PSQL[1]}"
    local line
    while IFS= read -r line <&"${PSQL[0]}"; do
        [[ $line == "$MARK" ]] && return 0
        printf '%s\n' "$line"
    done
    echo "backup: the database session ended early" >&2
    return 1
}
session_query "SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0;
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;" >/dev/null
session_query "SELECT pg_export_snapshot();" >"$work/snapshot"
snapshot=$(<"$work/snapshot")
rm "$work/snapshot"
session_query "SHOW server_version;" >"$work/server_version"
server_version=$(<"$work/server_version")
rm "$work/server_version"
session_query "$ROW_COUNTS_SQL" >"$work/row_counts"

pg_dump --dbname="$DATABASE_URL" --format=custom --snapshot="$snapshot" --no-password \
    --file="$work/database.dump"
session_query "COMMIT;" >/dev/null
printf '\\q\n' >&"${PSQL[1]}"
wait "$psql_pid" || true
unset psql_pid
dumped=$EPOCHREALTIME

# The files. Status 1 from GNU tar means a file changed or vanished while being read: the archive is
# still complete for the others, so it is a warning, not a failure.
tar_status=0
tar --create --file="$work/media.tar" --directory="$MEDIA_ROOT" --numeric-owner . || tar_status=$?
if ((tar_status == 1)); then
    echo "backup: warning: some files changed while MEDIA_ROOT was archived (see tar's messages above)" >&2
elif ((tar_status != 0)); then
    exit "$tar_status"
fi
file_count=$(tar --list --verbose --file="$work/media.tar" | grep -c '^-' || true)

(cd "$work" && sha256sum database.dump media.tar) >"$work/sums"
{
    echo "# Mon espace santé backup: written by deploy/backup.sh, checked by deploy/restore.sh"
    echo "# The encryption keys are not in this backup (see deploy/backup.sh)."
    printf 'format\t1\n'
    printf 'created\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf 'server_version\t%s\n' "$server_version"
    printf 'pg_dump\t%s\n' "$(pg_dump --version)"
    printf 'files\t%s\n' "$file_count"
    for archive in database.dump media.tar; do
        printf 'bytes\t%s\t%s\n' "$archive" "$(stat --format=%s "$work/$archive")"
    done
    while IFS= read -r line; do printf 'sha256\t%s\n' "$line"; done <"$work/sums"
    while IFS=$'\t' read -r table rows; do printf 'table\t%s\t%s\n' "$table" "$rows"; done <"$work/row_counts"
} >"$work/MANIFEST"
rm "$work/sums" "$work/row_counts"

mv "$work" "$final"
trap - EXIT
finished=$EPOCHREALTIME
tables=$(grep -c $'^table\t' "$final/MANIFEST")
rows=$(awk -F'\t' '$1 == "table" { total += $3 } END { print total + 0 }' "$final/MANIFEST")
printf 'backup: %s\n' "$final"
printf 'backup: database.dump %s bytes (%s tables, %s rows) in %s s; media.tar %s bytes (%s files); %s s in all\n' \
    "$(stat --format=%s "$final/database.dump")" "$tables" "$rows" "$(seconds "$started" "$dumped")" \
    "$(stat --format=%s "$final/media.tar")" "$file_count" "$(seconds "$started" "$finished")"
