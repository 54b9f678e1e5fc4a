#!/usr/bin/env bash
# scripts/bench/tenant.sh: the benchmark of `k12ctl restore --tenant` (one school out of a full
# backup), written into the `tenant` section of docs/BENCHMARKS.md.
#
#   scripts/bench/tenant.sh           full run: 400 tenants on the platform's real schema
#   scripts/bench/tenant.sh --quick   a trial of the script itself (40 tenants, one round); its
#                                     figures say nothing about the targets
#
# What it does:
# 1. Builds k12ctl and brings up PostgreSQL 15 only with scripts/bench/lib.sh (storage is
#    file:// in the run directory: every variant reads the same local object). Loads the
#    platform's real schema (K12CTL_PLATFORM_SCHEMA, default
#    ../shared/platform/platform-schema-2026-03-07.sql) into bench_tenant_src, provisions
#    BENCH_TENANTS schools with `k12ctl provision school --file` (untimed), and fills them with
#    set-based SQL: per tenant BENCH_USERS users (1 in 50 a teacher) with their roles, a term,
#    BENCH_USERS/25 courses of 2 sections, every user in 2 sections; the first tenant (the one
#    restored) has 10 times as many users, so that 10,000 of its rows can be deleted.
#    `courses.enrollments_count` is set exact. Then one `k12ctl backup run` (untimed).
# 2. Measures, BENCH_REPEAT rounds, the variants interleaved (their order rotates by round),
#    every target database new and dropped afterwards (then CHECKPOINT, untimed):
#      (a) full restore:  k12ctl restore --backup ID --target DB --create --yes (streamed)
#      (b) extract:       k12ctl restore --tenant T --create --backup ID --target DB --yes
#      (c) merge:         into a copy of the source (CREATE DATABASE ... TEMPLATE, untimed) from
#                         which 10,000 of T's rows were deleted (untimed): 2,500 users with
#                         their user_roles and their 2 enrollments each;
#                         k12ctl restore --tenant T --merge --backup ID --target DB --yes
#    Checked after every run (untimed): (a) every table's row count equals the source's;
#    (b) the extract holds T's rows only (users, enrollments, courses of no other tenant) and
#    as many as the source has for T; (c) the merge reports 10,000 rows re-inserted and the
#    copy's digest of T's users, user_roles and enrollments equals the source's again.
# 3. Prints a markdown section (medians, the targets with a computed verdict each, machine
#    facts, the command that reproduces it) and writes it into BENCH_DOC between
#    <!-- tenant:begin --> and <!-- tenant:end -->, leaving the rest of the file alone.
#
# Settings (environment):
#   BENCH_TENANTS=400           schools (--quick: 40)
#   BENCH_USERS=500             users per tenant (the first tenant: 10 times as many); >= 500
#   BENCH_REPEAT=3              rounds (--quick: 1); the tables show medians
#   BENCH_DOC, K12CTL_BIN, K12CTL_KEEP_BENCH, BENCH_ENV_DIR, K12CTL_PLATFORM_SCHEMA: as in
#                               scripts/bench/import.sh
# Raw results, logs and the section stay in target/bench/tenant-<UTC time>/.
#
# Measurement: wall time by the shell's clock around the k12ctl process (everything it does:
# for (b) and (c) that includes restoring the backup into a scratch database, which it drops);
# peak RSS by GNU time (%M), the larger of k12ctl and its pg_restore child.
set -euo pipefail

# shellcheck source=scripts/bench/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
cd -- "$BENCH_ROOT"

SCRIPT_REL=scripts/bench/tenant.sh
SECTION_NAME=tenant
SRC_DB=bench_tenant_src
TENANT=school-001
MERGE_ROWS=10000

bench_args "$@"
bench_user_set BENCH_TENANTS BENCH_USERS BENCH_REPEAT K12CTL_PLATFORM_SCHEMA
if [[ $QUICK -eq 1 ]]; then
  N_TENANTS=${BENCH_TENANTS:-40}
  REPEAT=${BENCH_REPEAT:-1}
else
  N_TENANTS=${BENCH_TENANTS:-400}
  REPEAT=${BENCH_REPEAT:-3}
fi
N_USERS=${BENCH_USERS:-500}
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPEAT must be a positive integer, not '$REPEAT'"
[[ $N_TENANTS =~ ^[1-9][0-9]*$ && $N_TENANTS -le 999 ]] || die "BENCH_TENANTS: '$N_TENANTS' is not a number in 1-999"
[[ $N_USERS =~ ^[1-9][0-9]*$ && $N_USERS -ge 500 ]] || die "BENCH_USERS: '$N_USERS' is not a number >= 500"
FULL_SIZE=0
if [[ $N_TENANTS -eq 400 && -z ${BENCH_USERS:-} ]]; then FULL_SIZE=1; fi

need_tools awk sed sort jq
SCHEMA_FILE=${K12CTL_PLATFORM_SCHEMA:-$BENCH_ROOT/../shared/platform/platform-schema-2026-03-07.sql}
[[ -f $SCHEMA_FILE && -r $SCHEMA_FILE ]] ||
  die "no platform schema at $SCHEMA_FILE (set K12CTL_PLATFORM_SCHEMA to the platform's pg_dump --schema-only)"

bench_init tenant
bench_pg_up
bench_k12ctl
STORE=$RUN_DIR/storage
mkdir -p -- "$STORE"
RESULTS=$RUN_DIR/results.tsv # round, variant, seconds, peak RSS KiB
: >"$RESULTS"

# k12 DB TAG ARGS...: k12ctl on DB with the run's file:// storage, JSON output; timed into
# $TIMES/TAG unless TAG is "-".
k12() {
  local db=$1 tag=$2
  shift 2
  local -a timer=()
  if [[ $tag != - ]]; then timer=("$TIME_BIN" -f '%e %M' -o "$TIMES/$tag"); fi
  (cd -- "$K12_CWD" && "${K12_ENV[@]}" "DATABASE_URL=$(db_url_pw "$db")" "K12CTL_STORAGE=file://$STORE" \
    "${timer[@]}" "$K12" --output json --no-progress "$@")
}
drop_db() { psql_ postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CHECKPOINT"; }
# counts DB: "schema.table rows" for every table, sorted
counts() {
  psql_ "$1" -A -t -F ' ' <<'SQL'
SELECT format('%s.%s', n.nspname, c.relname),
       (xpath('/row/n/text()',
              query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname),
                           false, true, '')))[1]::text::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%'
ORDER BY 1;
SQL
}
# digest DB: T's users, user_roles and enrollments, ids included
digest() {
  psql_val "$1" "SELECT md5(string_agg(r, ',' ORDER BY r)) FROM (
    SELECT 'u' || u.id || u.email FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE t.slug = '$TENANT'
    UNION ALL SELECT 'r' || ur.id || '/' || ur.user_id || '/' || ur.role_id FROM user_roles ur JOIN tenants t ON t.id = ur.tenant_id WHERE t.slug = '$TENANT'
    UNION ALL SELECT 'e' || e.id || '/' || e.user_id || '/' || e.section_id FROM enrollments e JOIN tenants t ON t.id = e.tenant_id WHERE t.slug = '$TENANT'
    UNION ALL SELECT 'c' || c.id || '/' || c.enrollments_count FROM courses c JOIN tenants t ON t.id = c.tenant_id WHERE t.slug = '$TENANT'
  ) x(r)"
}

# ---------------------------------------------------------------------------------------
# the source database

log "loading the platform's schema ($SCHEMA_FILE) into $SRC_DB"
psql_ postgres -c "DROP DATABASE IF EXISTS $SRC_DB WITH (FORCE)" -c "CREATE DATABASE $SRC_DB"
psql_ "$SRC_DB" -f "$SCHEMA_FILE" >"$LOGS/schema.log" 2>&1 || die "loading the schema failed; see $LOGS/schema.log"

log "provisioning $N_TENANTS schools with k12ctl provision school --file"
awk -v n="$N_TENANTS" 'BEGIN {
  print "schools:"
  for (p = 1; p <= n; p++) {
    s = sprintf("school-%03d", p)
    print "  - name: \"Bench School " sprintf("%03d", p) "\""
    print "    subdomain: " s
    print "    admin_email: principal@" s ".example.org"
    print "    admin_first_name: Ada"
    print "    admin_last_name: Admin"
    print "    district: bench-district"
    if (p == 1) print "    create_district: Bench District"
    print "    academic_year_start: 2026-08-01"
  }
}' >"$RUN_DIR/schools.yaml"
k12 "$SRC_DB" - provision school --file "$RUN_DIR/schools.yaml" >"$LOGS/provision.json" 2>"$LOGS/provision.log" ||
  die "provision school failed; see $LOGS/provision.log"

log "filling $N_TENANTS tenants with $N_USERS users each ($((10 * N_USERS)) in $TENANT)"
psql_ "$SRC_DB" -v users="$N_USERS" -v tenant="$TENANT" >"$LOGS/fill.log" 2>&1 <<'SQL' || die "filling the tenants failed; see $LOGS/fill.log"
BEGIN;
CREATE TEMP TABLE sizes AS
  SELECT t.id AS tenant_id, t.slug, CASE WHEN t.slug = :'tenant' THEN 10 * :users ELSE :users END AS users
  FROM tenants t;
INSERT INTO terms (academic_year_id, tenant_id, name, start_date, end_date, created_at, updated_at)
  SELECT ay.id, ay.tenant_id, 'Full Year', ay.start_date, ay.end_date, now(), now() FROM academic_years ay;
INSERT INTO users (tenant_id, email, first_name, last_name, created_at, updated_at)
  SELECT s.tenant_id, format('user%s@%s.example.org', g, s.slug), 'First ' || g, 'Last ' || (g % 997),
         now(), now()
  FROM sizes s, generate_series(1, s.users) g;
INSERT INTO user_roles (user_id, role_id, tenant_id, created_at, updated_at)
  SELECT u.id, r.id, u.tenant_id, now(), now()
  FROM users u JOIN roles r ON r.tenant_id = u.tenant_id
   AND r.name = CASE WHEN split_part(u.email, '@', 1) ~ '^user[0-9]*[05]0$' THEN 'teacher' ELSE 'student' END
  WHERE u.email LIKE 'user%';
INSERT INTO courses (tenant_id, academic_year_id, name, code, created_at, updated_at)
  SELECT s.tenant_id, ay.id, 'Course ' || g, 'C' || g, now(), now()
  FROM sizes s JOIN academic_years ay ON ay.tenant_id = s.tenant_id, generate_series(1, s.users / 25) g;
INSERT INTO sections (course_id, tenant_id, term_id, name, created_at, updated_at)
  SELECT c.id, c.tenant_id, tm.id, c.name || ', Period ' || p, now(), now()
  FROM courses c JOIN terms tm ON tm.academic_year_id = c.academic_year_id, generate_series(1, 2) p;
CREATE TEMP TABLE numbered_users AS
  SELECT id, tenant_id, row_number() OVER (PARTITION BY tenant_id ORDER BY id) - 1 AS n
  FROM users WHERE email LIKE 'user%';
CREATE TEMP TABLE numbered_sections AS
  SELECT id, tenant_id, row_number() OVER (PARTITION BY tenant_id ORDER BY id) - 1 AS n FROM sections;
CREATE TEMP TABLE section_counts AS
  SELECT tenant_id, count(*) AS k FROM sections GROUP BY tenant_id;
INSERT INTO enrollments (user_id, section_id, tenant_id, role, created_at, updated_at)
  SELECT u.id, ns.id, u.tenant_id, 'student', now(), now()
  FROM numbered_users u JOIN section_counts sc ON sc.tenant_id = u.tenant_id
  CROSS JOIN generate_series(0, 1) j
  JOIN numbered_sections ns ON ns.tenant_id = u.tenant_id AND ns.n = (u.n * 2 + j * 7) % sc.k;
UPDATE courses c SET enrollments_count = x.n
  FROM (SELECT s.course_id, count(*) AS n FROM enrollments e JOIN sections s ON s.id = e.section_id
        GROUP BY s.course_id) x
  WHERE x.course_id = c.id;
COMMIT;
ANALYZE;
SQL
SRC_COUNTS=$(counts "$SRC_DB")
SRC_DIGEST=$(digest "$SRC_DB")
SRC_BYTES=$(psql_val "$SRC_DB" "SELECT pg_database_size(current_database())")
N_ROWS=$(awk '{ s += $2 } END { print s }' <<<"$SRC_COUNTS")
T_ROWS=$(psql_val "$SRC_DB" "SELECT (SELECT count(*) FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE t.slug = '$TENANT')
  || ' ' || (SELECT count(*) FROM enrollments e JOIN tenants t ON t.id = e.tenant_id WHERE t.slug = '$TENANT')")
log "source: $N_ROWS rows, $(mib_b "$SRC_BYTES"); $TENANT has ${T_ROWS% *} users, ${T_ROWS#* } enrollments"

log "k12ctl backup run (untimed)"
k12 "$SRC_DB" - backup run >"$LOGS/backup.json" 2>"$LOGS/backup.log" || die "backup run failed; see $LOGS/backup.log"
BACKUP_ID=$(json_str id "$LOGS/backup.json")
[[ -n $BACKUP_ID ]] || die "no backup id in $LOGS/backup.json"
OBJECT_BYTES=$(json_num compressed_size "$LOGS/backup.json")

# ---------------------------------------------------------------------------------------
# the variants

run_full() {
  local db=bench_tenant_full tag="full-$1"
  drop_db "$db" >/dev/null
  k12 "$SRC_DB" "$tag" restore --backup "$BACKUP_ID" --target "$db" --create --yes \
    >"$LOGS/$tag.json" 2>"$LOGS/$tag.log" || die "full restore failed; see $LOGS/$tag.log"
  [[ $(counts "$db") == "$SRC_COUNTS" ]] || die "the full restore's row counts differ from the source's"
  drop_db "$db" >/dev/null
  printf '%s\tfull\t%s\t%s\n' "$1" "$(cut -d' ' -f1 <"$TIMES/$tag")" "$(rss_of "$tag")" >>"$RESULTS"
}

run_extract() {
  local db=bench_tenant_extract tag="extract-$1" other
  drop_db "$db" >/dev/null
  k12 "$SRC_DB" "$tag" restore --tenant "$TENANT" --create --backup "$BACKUP_ID" --target "$db" --yes \
    >"$LOGS/$tag.json" 2>"$LOGS/$tag.log" || die "extract failed; see $LOGS/$tag.log"
  other=$(psql_val "$db" "SELECT (SELECT count(*) FROM users WHERE tenant_id <> (SELECT id FROM tenants WHERE slug = '$TENANT'))
    + (SELECT count(*) FROM enrollments WHERE tenant_id <> (SELECT id FROM tenants WHERE slug = '$TENANT'))
    + (SELECT count(*) FROM tenants WHERE slug <> '$TENANT')")
  [[ $other == 0 ]] || die "the extract holds $other rows of other tenants"
  [[ $(digest "$db") == "$SRC_DIGEST" ]] || die "the extract's rows of $TENANT differ from the source's"
  drop_db "$db" >/dev/null
  printf '%s\textract\t%s\t%s\n' "$1" "$(cut -d' ' -f1 <"$TIMES/$tag")" "$(rss_of "$tag")" >>"$RESULTS"
}

run_merge() {
  local db=bench_tenant_merge tag="merge-$1" deleted back
  drop_db "$db" >/dev/null
  psql_ postgres -c "CREATE DATABASE $db TEMPLATE $SRC_DB" >/dev/null
  deleted=$(psql_ "$db" -A -t -v tenant="$TENANT" <<'SQL'
BEGIN;
CREATE TEMP TABLE gone AS
  SELECT u.id FROM users u JOIN tenants t ON t.id = u.tenant_id
  WHERE t.slug = :'tenant' AND u.email LIKE 'user%' ORDER BY u.id DESC LIMIT 2500;
WITH e AS (DELETE FROM enrollments WHERE user_id IN (SELECT id FROM gone) RETURNING 1),
     r AS (DELETE FROM user_roles WHERE user_id IN (SELECT id FROM gone) RETURNING 1)
SELECT (SELECT count(*) FROM e) + (SELECT count(*) FROM r) AS n \gset
DELETE FROM users WHERE id IN (SELECT id FROM gone);
SELECT :n + (SELECT count(*) FROM gone);
UPDATE courses c SET enrollments_count = (SELECT count(*) FROM enrollments e JOIN sections s ON s.id = e.section_id WHERE s.course_id = c.id)
  WHERE c.tenant_id = (SELECT id FROM tenants WHERE slug = :'tenant');
COMMIT;
CHECKPOINT;
SQL
  )
  deleted=$(grep -E '^[0-9]+$' <<<"$deleted" | tail -n1)
  [[ $deleted == "$MERGE_ROWS" ]] || die "deleted $deleted rows of $TENANT, not $MERGE_ROWS"
  k12 "$db" "$tag" restore --tenant "$TENANT" --merge --backup "$BACKUP_ID" --target "$db" --yes \
    >"$LOGS/$tag.json" 2>"$LOGS/$tag.log" || die "merge failed; see $LOGS/$tag.log"
  back=$(jq '[.tables[].inserted] | add' "$LOGS/$tag.json")
  [[ $back == "$MERGE_ROWS" ]] || die "the merge re-inserted $back rows, not $MERGE_ROWS (see $LOGS/$tag.json)"
  [[ $(digest "$db") == "$SRC_DIGEST" ]] || die "after the merge, $TENANT's rows differ from the source's"
  drop_db "$db" >/dev/null
  printf '%s\tmerge\t%s\t%s\n' "$1" "$(cut -d' ' -f1 <"$TIMES/$tag")" "$(rss_of "$tag")" >>"$RESULTS"
}

VARIANTS=(full extract merge)
for ((round = 1; round <= REPEAT; round++)); do
  for ((i = 0; i < ${#VARIANTS[@]}; i++)); do
    v=${VARIANTS[$(((i + round - 1) % ${#VARIANTS[@]}))]}
    log "round $round/$REPEAT: $v"
    "run_$v" "$round"
  done
done

# ---------------------------------------------------------------------------------------
# the section

TOTAL=$(($(date +%s) - T_START))
bench_machine_facts
col() { awk -F'\t' -v v="$1" -v c="$2" '$2 == v { print $c }' "$RESULTS"; }
FULL_S=$(col full 3 | median)
EXTRACT_S=$(col extract 3 | median)
MERGE_S=$(col merge 3 | median)
size_verdict() { if [[ $FULL_SIZE -eq 1 ]]; then verdict "$1"; else printf -- '- (other sizes)'; fi; }

render() {
  echo "## Restore one school: \`k12ctl restore --tenant\` against a full streamed restore, on the platform's real schema"
  echo
  echo "Written by \`$SCRIPT_REL\` on $(date -u '+%Y-%m-%d %H:%M') UTC; do not edit by hand. Reproduce with:"
  echo
  echo '```sh'
  echo "$REPRO"
  echo '```'
  echo
  if [[ $FULL_SIZE -ne 1 ]]; then
    echo "> **Trial run** (\`--quick\` or other sizes): it shows that the script works; the targets are"
    echo "> stated for 400 tenants, so these verdicts do not count."
    echo
  fi
  echo "Database: the platform's real schema ($(basename -- "$SCHEMA_FILE")), $N_TENANTS tenants provisioned"
  echo "by \`k12ctl provision school --file\`, $N_USERS users each ($((10 * N_USERS)) in $TENANT, the tenant"
  echo "restored) with their roles, courses of 2 sections and 2 enrollments a user: $N_ROWS rows,"
  echo "$(mib_b "$SRC_BYTES") on disk; the backup object (gzip) $(mib_b "$OBJECT_BYTES"), in \`file://\` storage."
  echo
  bench_machine_md
  echo "Each figure is the median of $REPEAT run(s), the variants interleaved."
  echo
  echo "### Targets"
  echo
  echo "| Target | Measured | Verdict |"
  echo "|---|---|---|"
  echo "| extracting one tenant out of $N_TENANTS <= a full streamed restore | ${EXTRACT_S} s vs ${FULL_S} s | $(size_verdict "$EXTRACT_S <= $FULL_S") |"
  echo "| a merge of 10,000 rows <= 5 s | ${MERGE_S} s | $(size_verdict "$MERGE_S <= 5") |"
  echo
  echo "### Side by side"
  echo
  echo "| Variant | Wall time | Peak RSS (k12ctl or pg_restore) |"
  echo "|---|---|---|"
  echo "| full streamed restore (\`restore --backup ID --create\`) | ${FULL_S} s | $(mib_kib "$(col full 4 | median)") |"
  echo "| extract $TENANT (\`restore --tenant $TENANT --create\`) | ${EXTRACT_S} s | $(mib_kib "$(col extract 4 | median)") |"
  echo "| merge 10,000 deleted rows of $TENANT back (\`restore --tenant $TENANT --merge\`) | ${MERGE_S} s | $(mib_kib "$(col merge 4 | median)") |"
  echo
  echo "Both tenant variants first restore the whole backup into a scratch database (tables and"
  echo "rows; no indexes, keys or constraints), then copy the tenant's rows out of it with COPY; that"
  echo "scratch restore (no indexes to build) is most of their time, so a merge of any size costs most of a full restore of"
  echo "the backup. An extract also creates the whole schema (indexes and constraints included) in"
  echo "the new database before its rows go in."
  echo "Checked after every run: the full restore's row counts equal the source's; the extract holds"
  echo "no other tenant's rows and $TENANT's users, roles, enrollments and course counters as in the"
  echo "source; the merge re-inserted exactly 10,000 rows and $TENANT's rows equal the source's again."
  echo
  echo "<details><summary>Every measurement</summary>"
  echo
  echo "| Round | Variant | Wall s | Peak RSS KiB |"
  echo "|---|---|---|---|"
  sort -k1,1n -k2,2 "$RESULTS" | awk -F'\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }'
  echo
  echo "</details>"
}
bench_publish
