#!/usr/bin/env bash
# Restore a backup made by deploy/backup.sh into a NEW database and a new media directory, then check it.
#
#   DATABASE_URL=postgres://user:password@host:5432/postgres \
#       deploy/restore.sh /backups/espace-sante-20260101T020000Z espace_sante_restored /srv/media-restored
#
# DATABASE_URL names the server (and a database on it to connect to); the database named by the second
# argument is created there, or used if it exists and holds no table. A database that holds anything is
# never touched: the script refuses. The media directory must be new or empty.
#
# Steps: check the sha256 of both archives against MANIFEST; create the database; pg_restore in one
# transaction (all or nothing) with --no-owner --no-privileges, so the objects belong to the role of
# DATABASE_URL: restore as the application's role; unpack the files; ANALYZE; then compare the row count of
# every table and the number of files with MANIFEST, and fail on any difference.
#
# The encryption keys are not in the backup: start the portal on the restored data with the same
# DATA_ENCRYPTION_KEYS (and CODE_HASH_KEY, SECRET_KEY) as when the backup was made; `manage.py check
# --deploy --database default` refuses a key ring that cannot open the restored data (crypto.E003).
set -euo pipefail
umask 077

usage() {
    echo "usage: DATABASE_URL=postgres://… $0 BACKUP_DIR NEW_DATABASE_NAME MEDIA_DIR" >&2
    exit 2
}
[[ $# -eq 3 ]] || usage
: "${DATABASE_URL:?DATABASE_URL is required (postgres://user:password@host:port/name)}"
backup=$1
database=$2
media_dir=$3
manifest="$backup/MANIFEST"
fail() {
    echo "restore: $*" >&2
    exit 1
}
seconds() { awk -v from="$1" -v to="$2" 'BEGIN { printf "%.1f", to - from }'; }
started=$EPOCHREALTIME

[[ -f $manifest && -f $backup/database.dump && -f $backup/media.tar ]] ||
    fail "$backup does not hold MANIFEST, database.dump and media.tar"
[[ $(awk -F'\t' '$1 == "format" { print $2 }' "$manifest") == 1 ]] || fail "unknown manifest format"
[[ $database =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || fail "database name must match [a-z_][a-z0-9_]*: $database"
if [[ -e $media_dir ]]; then
    [[ -d $media_dir && -z $(ls -A "$media_dir") ]] || fail "$media_dir exists and is not an empty directory"
fi

# 1. The archives are the ones the manifest describes.
echo "restore: checking the archives"
awk -F'\t' '$1 == "sha256" { print $2 }' "$manifest" | (cd "$backup" && sha256sum --check --strict --quiet) ||
    fail "an archive does not match its sha256 in MANIFEST"

# 2. A new database, or an existing one that holds no relation.
psql_on() {  # psql_on URL [psql options…]: one session, quiet, rows only, tab-separated
    local url=$1
    shift
    psql --dbname="$url" --no-psqlrc --quiet --tuples-only --no-align --field-separator=$'\t' \
        --set=ON_ERROR_STOP=1 "$@"
}
base=${DATABASE_URL%%\?*}
query=${DATABASE_URL:${#base}}
if [[ $base =~ ^[a-z]+://[^/]*$ ]]; then server=$base; else server=${base%/*}; fi
target="$server/$database$query"

exists=$(psql_on "$DATABASE_URL" --set=name="$database" <<<"SELECT count(*) FROM pg_database WHERE datname = :'name';")
if ((exists)); then
    relations=$(psql_on "$target" <<<"SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
          AND n.nspname NOT LIKE 'pg_temp%';")
    ((relations == 0)) || fail "database $database already exists and is not empty ($relations relations): refusing to overwrite it"
    echo "restore: database $database exists and is empty: restoring into it"
else
    echo "restore: creating database $database"
    psql_on "$DATABASE_URL" --set=name="$database" <<<'CREATE DATABASE :"name" TEMPLATE template0 ENCODING '"'UTF8'"';'
fi

# 3. The database, all or nothing.
echo "restore: pg_restore into $database"
pg_restore --dbname="$target" --no-owner --no-privileges --exit-on-error --single-transaction --no-password \
    "$backup/database.dump"
psql_on "$target" <<<"ANALYZE;"
restored=$EPOCHREALTIME

# 4. The files.
echo "restore: unpacking the files into $media_dir"
mkdir -p "$media_dir"
tar --extract --file="$backup/media.tar" --directory="$media_dir" --no-same-owner

# 5. Compare with the manifest: every table's row count, the number of files.
echo "restore: comparing with MANIFEST"
ROW_COUNTS_SQL="SELECT format('%I.%I', n.nspname, c.relname),
       (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname),
                                            false, true, '')))[1]::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
 ORDER BY 1;"  # the same query as in backup.sh
expected=$(awk -F'\t' '$1 == "table" { print $2 "\t" $3 }' "$manifest")
actual=$(psql_on "$target" <<<"$ROW_COUNTS_SQL")
if [[ $expected != "$actual" ]]; then
    diff <(echo "$expected") <(echo "$actual") >&2 || true
    fail "row counts differ from MANIFEST (< manifest, > restored database $database)"
fi
expected_files=$(awk -F'\t' '$1 == "files" { print $2 }' "$manifest")
actual_files=$(find "$media_dir" -type f | wc -l)
((expected_files == actual_files)) || fail "$actual_files files in $media_dir, MANIFEST says $expected_files"

finished=$EPOCHREALTIME
tables=$(grep -c $'^table\t' "$manifest")
rows=$(awk -F'\t' '$1 == "table" { total += $3 } END { print total + 0 }' "$manifest")
printf 'restore: OK: database %s (%s tables, %s rows, same counts as MANIFEST) in %s s; %s files in %s; %s s in all\n' \
    "$database" "$tables" "$rows" "$(seconds "$started" "$restored")" "$actual_files" "$media_dir" \
    "$(seconds "$started" "$finished")"
