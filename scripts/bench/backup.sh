#!/usr/bin/env bash
# scripts/bench/backup.sh: the backup benchmark of issue 2 ("Performance"), written into the
# `backup` section of docs/BENCHMARKS.md.
#
#   scripts/bench/backup.sh            full run: databases of ~100 MB, >= 500 MB and ~1 GB
#   scripts/bench/backup.sh --quick    a trial of the script itself (30 and 60 MB databases);
#                                      its figures say nothing about the targets
#
# What it does:
# 1. Builds target/release/k12ctl (unless K12CTL_BIN names a binary) and copies it into the run
#    directory, so that a rebuild during the run cannot change what is measured.
# 2. Brings up its own PostgreSQL 15 and Garage (S3) with scripts/testenv.sh in
#    target/bench-env (K12CTL_TESTENV_DIR), separate from the test suite's servers, and tears
#    them down at exit unless K12CTL_KEEP_BENCH=1 (a later run then reuses the servers and the
#    benchmark databases already generated).
# 3. Generates one database per size in BENCH_SIZES (MiB of pg_database_size), or reuses a kept
#    one: pgbench tables (`pgbench -i -s N`, about 40% of the size) plus `lms_submissions`,
#    rows of school-domain text drawn from a vocabulary by hashint8 (a skewed, Zipf-like
#    choice), jsonb with numbers, uuids and nested objects, and timestamps. Normal (logged)
#    tables; no random(): the same PostgreSQL build produces the same databases. The generator
#    lives in scripts/bench/lib.sh, shared with the benchmarks to come (restore, import).
# 4. On the main database (the first size >= 500, else the largest) measures, side by side and
#    interleaved (a, b, c, d, levels, other sizes; then again) BENCH_REPEAT times:
#      (a) the platform's old job: pg_dump -Fc | gzip > file, then aws s3 cp file (two phases)
#      (b) pg_dump -Fc | aws s3 cp - s3://...
#      (c) pg_dump -Fc -Z0 > /dev/null
#      (d) k12ctl backup run (default compression level)
#    plus k12ctl at every other level of BENCH_LEVELS on the main database, and k12ctl at the
#    default level on every other database (memory flatness). Each variant writes to its own
#    prefix of the same bucket; objects are deleted after each measurement.
# 5. Checks under strace (an extra, untimed run) that k12ctl opens no local file for writing.
# 6. Prints a markdown section (medians, targets of the issue with a computed verdict each,
#    machine facts, the command that reproduces it) and writes it into BENCH_DOC between
#    <!-- backup:begin --> and <!-- backup:end -->, leaving the rest of the file alone.
#
# Settings (environment):
#   BENCH_SIZES="100 500 1000"  database sizes in MiB (--quick: "30 60")
#   BENCH_REPEAT=3              measurements per variant; the tables show medians
#   BENCH_LEVELS="1 2 3 6"      compression levels compared on the main database
#   BENCH_MAIN_MB               the database of the side-by-side comparison (default: above)
#   BENCH_DOC                   markdown file to update (default docs/BENCHMARKS.md)
#   K12CTL_BIN                  k12ctl binary to measure (default: cargo build --release)
#   K12CTL_KEEP_BENCH=1         keep the servers and databases up after the run
#   BENCH_ENV_DIR               state directory of the servers (default target/bench-env)
# Raw results, logs and the section stay in target/bench/backup-<UTC time>/.
#
# Measurement: wall time by the shell's clock around the whole variant (for (a), the sum of its
# two phases); peak RSS by GNU time (/usr/bin/time -f %M) for every client process, reported as
# the largest of the processes of the variant. For k12ctl, GNU time's figure covers k12ctl and
# its pg_dump child (the larger of the two). Server-side memory (the PostgreSQL backend,
# Garage) is the same for every variant and is not counted.
set -euo pipefail

# shellcheck source=scripts/bench/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
cd -- "$BENCH_ROOT"

SCRIPT_REL=scripts/bench/backup.sh
SECTION_NAME=backup
DEFAULT_SIZES="100 500 1000"
QUICK_SIZES="30 60"
DEFAULT_LEVELS="1 2 3 6"
DEFAULT_REPEAT=3

bench_args "$@"

bench_user_set BENCH_SIZES BENCH_REPEAT BENCH_LEVELS BENCH_MAIN_MB

if [[ $QUICK -eq 1 ]]; then
  SIZES_STR=${BENCH_SIZES:-$QUICK_SIZES}
else
  SIZES_STR=${BENCH_SIZES:-$DEFAULT_SIZES}
fi
REPEAT=${BENCH_REPEAT:-$DEFAULT_REPEAT}
LEVELS_STR=${BENCH_LEVELS:-$DEFAULT_LEVELS}

[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPEAT must be a positive integer, not '$REPEAT'"
read -r -a SIZES <<<"$SIZES_STR"
[[ ${#SIZES[@]} -gt 0 ]] || die "BENCH_SIZES is empty"
for s in "${SIZES[@]}"; do
  [[ $s =~ ^[1-9][0-9]*$ && $s -ge 20 ]] || die "BENCH_SIZES: '$s' is not a size in MiB >= 20"
done
mapfile -t SIZES < <(printf '%s\n' "${SIZES[@]}" | sort -n -u)
read -r -a LEVELS <<<"$LEVELS_STR"
for l in "${LEVELS[@]}"; do
  [[ $l =~ ^[1-9]$ ]] || die "BENCH_LEVELS: '$l' is not a gzip level 1-9"
done
if [[ -n ${BENCH_MAIN_MB:-} ]]; then
  MAIN_MB=$BENCH_MAIN_MB
  [[ " ${SIZES[*]} " == *" $MAIN_MB "* ]] || die "BENCH_MAIN_MB=$MAIN_MB is not one of BENCH_SIZES"
else
  MAIN_MB=${SIZES[-1]}
  for s in "${SIZES[@]}"; do
    if [[ $s -ge 500 ]]; then
      MAIN_MB=$s
      break
    fi
  done
fi
SMALL_MB=${SIZES[0]}
LARGE_MB=${SIZES[-1]}

need_tools strace gzip awk sed sort stat find

bench_init backup
RESULTS=$RUN_DIR/results.tsv
: >"$RESULTS"
bench_k12ctl
bench_env_up
PREFIX=bench/backup/$RUN_ID
bench_gen_dbs "${SIZES[@]}"

# ---------------------------------------------------------------------------------------
# measurements
#
# results.tsv: round, variant, db MiB, level, wall s, peak RSS KiB (max of processes),
# per-process RSS (name=KiB,...), object bytes, local bytes, dump bytes, phases (name=s,...)

record() {
  local IFS=$'\t'
  printf '%s\n' "$*" >>"$RESULTS"
}

# (a) pg_dump -Fc | gzip > file; aws s3 cp file s3://...
run_a() {
  local round=$1 mb=$2 db tag=a-r$1 file key t0 t1 t2 wall local_bytes obj rss
  db=$(db_name "$mb")
  file=$WORK/$db.dump.gz
  key=$PREFIX/a/$db-r$round.dump.gz
  t0=$(now)
  "${PG_ENV[@]}" "$TIME_BIN" -f '%e %M' -o "$TIMES/$tag.pg_dump" \
    "$PG_BINDIR/pg_dump" -Fc -d "$(db_url "$db")" 2>"$LOGS/$tag.pg_dump.log" |
    timed "$tag.gzip" gzip -c >"$file"
  t1=$(now)
  timed "$tag.aws" "${AWS_ENV[@]}" "$AWS_BIN" --endpoint-url "$S3_ENDPOINT" \
    s3 cp --only-show-errors "$file" "s3://$BUCKET/$key" 2>"$LOGS/$tag.aws.log"
  t2=$(now)
  wall=$(elapsed "$t0" "$t2")
  local_bytes=$(stat -c %s -- "$file")
  rm -f -- "$file"
  obj=$(object_size "$key")
  rm_prefix "$PREFIX/a"
  rss=$(printf '%s\n' "$(rss_of "$tag.pg_dump")" "$(rss_of "$tag.gzip")" "$(rss_of "$tag.aws")" | sort -n | tail -n1)
  record "$round" a "$mb" - "$wall" "$rss" \
    "pg_dump=$(rss_of "$tag.pg_dump"),gzip=$(rss_of "$tag.gzip"),aws=$(rss_of "$tag.aws")" \
    "$obj" "$local_bytes" - "dump+gzip=$(elapsed "$t0" "$t1"),upload=$(elapsed "$t1" "$t2")"
}

# (b) pg_dump -Fc | aws s3 cp - s3://...
run_b() {
  local round=$1 mb=$2 db tag=b-r$1 key t0 wall obj rss
  db=$(db_name "$mb")
  key=$PREFIX/b/$db-r$round.dump
  t0=$(now)
  "${PG_ENV[@]}" "$TIME_BIN" -f '%e %M' -o "$TIMES/$tag.pg_dump" \
    "$PG_BINDIR/pg_dump" -Fc -d "$(db_url "$db")" 2>"$LOGS/$tag.pg_dump.log" |
    timed "$tag.aws" "${AWS_ENV[@]}" "$AWS_BIN" --endpoint-url "$S3_ENDPOINT" \
      s3 cp --only-show-errors - "s3://$BUCKET/$key" 2>"$LOGS/$tag.aws.log"
  wall=$(elapsed "$t0")
  obj=$(object_size "$key")
  rm_prefix "$PREFIX/b"
  rss=$(printf '%s\n' "$(rss_of "$tag.pg_dump")" "$(rss_of "$tag.aws")" | sort -n | tail -n1)
  record "$round" b "$mb" - "$wall" "$rss" "pg_dump=$(rss_of "$tag.pg_dump"),aws=$(rss_of "$tag.aws")" \
    "$obj" 0 - -
}

# (c) pg_dump -Fc -Z0 > /dev/null
run_c() {
  local round=$1 mb=$2 db tag=c-r$1 t0 wall
  db=$(db_name "$mb")
  t0=$(now)
  "${PG_ENV[@]}" "$TIME_BIN" -f '%e %M' -o "$TIMES/$tag.pg_dump" \
    "$PG_BINDIR/pg_dump" -Fc -Z0 -d "$(db_url "$db")" >/dev/null 2>"$LOGS/$tag.pg_dump.log"
  wall=$(elapsed "$t0")
  record "$round" c "$mb" - "$wall" "$(rss_of "$tag.pg_dump")" "pg_dump=$(rss_of "$tag.pg_dump")" - 0 - -
}

# (d) k12ctl backup run [--compression-level L]; L empty: the default
run_d() {
  local round=$1 mb=$2 level=${3:-} db tag t0 wall prefix json lvl obj raw
  db=$(db_name "$mb")
  tag=d-$mb-l${level:-default}-r$round
  prefix=$PREFIX/d-$mb-l${level:-default}
  json=$LOGS/$tag.json
  local -a args=(--output json --no-progress backup run)
  if [[ -n $level ]]; then args+=(--compression-level "$level"); fi
  t0=$(now)
  (cd -- "$K12_CWD" && "${K12_ENV[@]}" "DATABASE_URL=$(db_url_pw "$db")" \
    "K12CTL_STORAGE=s3://$BUCKET/$prefix" \
    "$TIME_BIN" -f '%e %M' -o "$TIMES/$tag.k12ctl" "$K12" "${args[@]}") >"$json" 2>"$LOGS/$tag.log" || {
    tail -n 5 "$LOGS/$tag.log" >&2
    die "k12ctl backup run failed ($tag); see $LOGS/$tag.log"
  }
  wall=$(elapsed "$t0")
  lvl=$(json_num compression_level "$json")
  obj=$(json_num compressed_size "$json")
  raw=$(json_num uncompressed_size "$json")
  [[ -n $lvl && -n $obj && -n $raw ]] || die "cannot read k12ctl's JSON report $json"
  rm_prefix "$prefix"
  record "$round" d "$mb" "$lvl" "$wall" "$(rss_of "$tag.k12ctl")" "k12ctl+pg_dump=$(rss_of "$tag.k12ctl")" \
    "$obj" 0 "$raw" -
}

# (d) writes no local file: an untimed run under strace (bench_local_writes), on the smallest
# database.
NOLOCAL_FILES=""
NOLOCAL_BYTES=0
check_no_local_file() {
  local db
  db=$(db_name "$SMALL_MB")
  log "strace check: does k12ctl write a local file? (database $db)"
  bench_local_writes k12ctl pg_dump "${K12_ENV[@]}" "DATABASE_URL=$(db_url_pw "$db")" \
    "K12CTL_STORAGE=s3://$BUCKET/$PREFIX/strace" "$K12" --output json --no-progress backup run
  rm_prefix "$PREFIX/strace"
  NOLOCAL_FILES=$LOCAL_WRITES
  NOLOCAL_BYTES=$LOCAL_WRITE_BYTES
}

# Warm up: every database read once (page cache, hint bits), every program started once.
log "warm-up: pg_dump -Fc -Z0 of every database, aws s3 ls"
for mb in "${SIZES[@]}"; do
  "${PG_ENV[@]}" "$PG_BINDIR/pg_dump" -Fc -Z0 -d "$(db_url "$(db_name "$mb")")" >/dev/null
done
check_no_local_file

T_MEASURE=$(now)
DEFAULT_LEVEL=""
for ((round = 1; round <= REPEAT; round++)); do
  log "round $round/$REPEAT: (a) (b) (c) (d) on $(db_name "$MAIN_MB")"
  run_a "$round" "$MAIN_MB"
  run_b "$round" "$MAIN_MB"
  run_c "$round" "$MAIN_MB"
  run_d "$round" "$MAIN_MB"
  DEFAULT_LEVEL=$(tail -n1 "$RESULTS" | cut -f4)
  for level in "${LEVELS[@]}"; do
    if [[ $level != "$DEFAULT_LEVEL" ]]; then
      log "round $round/$REPEAT: k12ctl --compression-level $level"
      run_d "$round" "$MAIN_MB" "$level"
    fi
  done
  for mb in "${SIZES[@]}"; do
    if [[ $mb != "$MAIN_MB" ]]; then
      log "round $round/$REPEAT: k12ctl on $(db_name "$mb")"
      run_d "$round" "$mb"
    fi
  done
done
MEASURE_TOTAL=$(elapsed "$T_MEASURE")
bench_machine_facts

# ---------------------------------------------------------------------------------------
# aggregation

# col N VARIANT MB [LEVEL]: column N of the matching rows, one a line
col() {
  awk -F'\t' -v c="$1" -v v="$2" -v d="$3" -v l="${4:-}" \
    '$2 == v && $3 == d && (l == "" || $4 == l) { print $c }' "$RESULTS"
}
# detail_median N VARIANT MB KEY [LEVEL]: median of KEY in the "key=value,..." column N
detail_median() {
  col "$1" "$2" "$3" "${5:-}" | tr ',' '\n' | sed -n "s/^$4=//p" | median
}

W_A=$(col 5 a "$MAIN_MB" | median)
W_B=$(col 5 b "$MAIN_MB" | median)
W_C=$(col 5 c "$MAIN_MB" | median)
W_D=$(col 5 d "$MAIN_MB" "$DEFAULT_LEVEL" | median)
DUMP_MAIN=$(col 10 d "$MAIN_MB" "$DEFAULT_LEVEL" | median)
R_DA=$(calc "$W_D / $W_A")
R_DC=$(calc "$W_D / $W_C")
RSS_D_MAX=$(awk -F'\t' '$2 == "d" { print $6 }' "$RESULTS" | maximum)
N_D=$(awk -F'\t' '$2 == "d"' "$RESULTS" | wc -l)
RSS_SMALL=$(col 6 d "$SMALL_MB" "$DEFAULT_LEVEL" | median)
RSS_LARGE=$(col 6 d "$LARGE_MB" "$DEFAULT_LEVEL" | median)
RSS_SPREAD=$(calc "($RSS_LARGE > $RSS_SMALL ? $RSS_LARGE / $RSS_SMALL : $RSS_SMALL / $RSS_LARGE) - 1")
LOCAL_D=$(col 9 d "$MAIN_MB" | maximum)
LOCAL_D=$((LOCAL_D + NOLOCAL_BYTES))
TOTAL=$(($(date +%s) - T_START))

# ---------------------------------------------------------------------------------------
# markdown


render() {
  local q='`'
  echo "## Backup: \`k12ctl backup run\` against the platform's old job (issue 2)"
  echo
  echo "Written by \`$SCRIPT_REL\` on $(date -u '+%Y-%m-%d %H:%M UTC'); do not edit by hand. Reproduce with:"
  echo
  echo '```sh'
  echo "$REPRO"
  echo '```'
  echo
  if [[ $QUICK -eq 1 || ${DB_BYTES[$MAIN_MB]} -lt $((500 * MIB)) ]]; then
    echo "> **Trial run** (\`--quick\` or sizes below 500 MiB): it shows that the script works; the"
    echo "> issue's targets are defined on a database of at least 500 MB, so these verdicts do not count."
    echo
  fi
  bench_machine_md
  echo "Each figure is the median of $REPEAT run$([[ $REPEAT == 1 ]] || echo s); the variants ran interleaved (a, b, c, d, other"
  echo "levels, other sizes, then again). The run took $(hms "$TOTAL") in all: $(hms "$GEN_TOTAL") generating"
  echo "databases, $(hms "$MEASURE_TOTAL") measuring."
  echo
  echo "### Targets"
  echo
  echo "| Target (issue 2) | Measured | Verdict |"
  echo "|---|---|---|"
  echo "| database of the comparison >= 500 MB | $(mib_b "${DB_BYTES[$MAIN_MB]}") (pg_database_size) | $(verdict "${DB_BYTES[$MAIN_MB]} >= 500 * $MIB") |"
  echo "| (d) wall time <= 0.5 x (a) | $(f1 "$W_D") s / $(f1 "$W_A") s = $(f2 "$R_DA") x | $(verdict "$R_DA <= 0.5") |"
  echo "| (d) wall time <= 1.3 x (c) | $(f1 "$W_D") s / $(f1 "$W_C") s = $(f2 "$R_DC") x | $(verdict "$R_DC <= 1.3") |"
  echo "| peak RSS of (d) <= 100 MiB | $(mib_kib "$RSS_D_MAX"), the largest of all $N_D k12ctl runs | $(verdict "$RSS_D_MAX <= 100 * 1024") |"
  if [[ $SMALL_MB != "$LARGE_MB" ]]; then
    echo "| peak RSS of (d) flat within 15% between ~100 MB and ~1 GB | $(mib_kib "$RSS_SMALL") at $(mib_b "${DB_BYTES[$SMALL_MB]}"), $(mib_kib "$RSS_LARGE") at $(mib_b "${DB_BYTES[$LARGE_MB]}"): $(pct "$RSS_SPREAD") | $(verdict "$RSS_SPREAD <= 0.15 && ${DB_BYTES[$SMALL_MB]} <= 150 * $MIB && ${DB_BYTES[$LARGE_MB]} >= 900 * $MIB") |"
  else
    echo "| peak RSS of (d) flat within 15% between ~100 MB and ~1 GB | one database size only | **not measured** |"
  fi
  if [[ -z $NOLOCAL_FILES ]]; then
    echo "| (d) writes no local file | strace -f: no file opened for writing, created, renamed or removed by k12ctl or pg_dump | $(verdict "$LOCAL_D == 0") |"
  else
    echo "| (d) writes no local file | strace -f: $(printf '%s' "$NOLOCAL_FILES" | head -n3 | tr '\n' ';' | sed 's/|/\\|/g') | **not met** |"
  fi
  echo
  echo "The flatness verdict also requires the two databases to be ~100 MB (<= 150 MiB) and ~1 GB"
  echo "(>= 900 MiB)."
  echo
  echo "### Side by side on $(db_name "$MAIN_MB") ($(mib_b "${DB_BYTES[$MAIN_MB]}"), dump $(mib_b "$DUMP_MAIN") uncompressed)"
  echo
  echo "| | Command | Wall time | vs (a) | vs (c) | Peak RSS | Object size | Local disk |"
  echo "|---|---|---|---|---|---|---|---|"
  local v w rss obj cmd detail lv
  for v in a b c d; do
    case $v in
    a)
      cmd="${q}pg_dump -Fc \\| gzip > file${q}, then ${q}aws s3 cp file s3://…${q}"
      w=$W_A
      detail=" ($(f1 "$(detail_median 11 a "$MAIN_MB" dump+gzip)") s dump+gzip, $(f1 "$(detail_median 11 a "$MAIN_MB" upload)") s upload)"
      ;;
    b)
      cmd="${q}pg_dump -Fc \\| aws s3 cp - s3://…${q}"
      w=$W_B
      detail=""
      ;;
    c)
      cmd="${q}pg_dump -Fc -Z0 > /dev/null${q}"
      w=$W_C
      detail=""
      ;;
    d)
      cmd="${q}k12ctl backup run${q} (level $DEFAULT_LEVEL)"
      w=$W_D
      detail=""
      ;;
    esac
    lv=""
    if [[ $v == d ]]; then lv=$DEFAULT_LEVEL; fi
    rss=$(col 6 "$v" "$MAIN_MB" "$lv" | median)
    local procs="" p
    case $v in
    a) for p in pg_dump gzip aws; do procs+="$p $(mib_kib "$(detail_median 7 a "$MAIN_MB" "$p")"), "; done ;;
    b) for p in pg_dump aws; do procs+="$p $(mib_kib "$(detail_median 7 b "$MAIN_MB" "$p")"), "; done ;;
    c) procs="pg_dump, " ;;
    d) procs="k12ctl or its pg_dump, " ;;
    esac
    obj=$(col 8 "$v" "$MAIN_MB" "$lv" | median)
    if [[ $obj == nan ]]; then obj="-"; else obj=$(mib_b "$obj"); fi
    local localb
    localb=$(col 9 "$v" "$MAIN_MB" "$lv" | maximum)
    if [[ $v == d ]]; then localb=$LOCAL_D; fi
    echo "| ($v) | $cmd | $(f1 "$w") s$detail | $(f2 "$(calc "$w / $W_A")") x | $(f2 "$(calc "$w / $W_C")") x | $(mib_kib "$rss") (${procs%, }) | $obj | $(mib_b "$localb") |"
  done
  echo
  echo "Wall time: the shell's clock around the whole variant; for (a) the sum of its two phases."
  echo "Peak RSS: the largest peak resident set of the variant's client processes (GNU time \`%M\`"
  echo "per process; for k12ctl, GNU time covers k12ctl and its pg_dump child, so the figure is the"
  echo "larger of the two); PostgreSQL's backend and Garage are not counted. Object size: the"
  echo "stored object (\`aws s3api head-object\`; k12ctl's \`compressed_size\`). Local disk: bytes"
  echo "of local files written ((a): the gzip file, deleted after the upload)."
  echo
  echo "### Memory against database size: \`k12ctl backup run\` (level $DEFAULT_LEVEL)"
  echo
  echo "| Database | pg_database_size | Dump (-Z0) | Wall time | Dump rate | Peak RSS (median / max) | Object size |"
  echo "|---|---|---|---|---|---|---|"
  local mb raw
  for mb in "${SIZES[@]}"; do
    w=$(col 5 d "$mb" "$DEFAULT_LEVEL" | median)
    raw=$(col 10 d "$mb" "$DEFAULT_LEVEL" | median)
    echo "| $(db_name "$mb") | $(mib_b "${DB_BYTES[$mb]}") | $(mib_b "$raw") | $(f1 "$w") s | $(f1 "$(calc "$raw / 1048576 / $w")") MiB/s | $(mib_kib "$(col 6 d "$mb" "$DEFAULT_LEVEL" | median)") / $(mib_kib "$(col 6 d "$mb" "$DEFAULT_LEVEL" | maximum)") | $(mib_b "$(col 8 d "$mb" "$DEFAULT_LEVEL" | median)") |"
  done
  echo
  echo "### Compression level on $(db_name "$MAIN_MB")"
  echo
  echo "| Level | Wall time | vs (c) | Object size | Object / dump | Against the default (level $DEFAULT_LEVEL) |"
  echo "|---|---|---|---|---|---|"
  local l obj_def ws
  obj_def=$(col 8 d "$MAIN_MB" "$DEFAULT_LEVEL" | median)
  mapfile -t ws < <(printf '%s\n' "${LEVELS[@]}" "$DEFAULT_LEVEL" | sort -n -u)
  for l in "${ws[@]}"; do
    w=$(col 5 d "$MAIN_MB" "$l" | median)
    obj=$(col 8 d "$MAIN_MB" "$l" | median)
    local note="(default)"
    if [[ $l != "$DEFAULT_LEVEL" ]]; then
      note="wall $(pct "$(calc "$w / $W_D - 1")"), size $(pct "$(calc "$obj / $obj_def - 1")")"
    fi
    echo "| $l | $(f1 "$w") s | $(f2 "$(calc "$w / $W_C")") x | $(mib_b "$obj") | $(f2 "$(calc "$obj / $DUMP_MAIN")") | $note |"
  done
  echo
  echo "### Databases"
  echo
  bench_dbs_md "${SIZES[@]}"
  echo
  echo "<details><summary>Every measurement</summary>"
  echo
  echo "| Round | Variant | Database | Level | Wall s | Peak RSS KiB | Per process KiB | Object bytes | Local bytes | Dump bytes | Phases s |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  awk -F'\t' '{ printf "| %s | %s | bench_%smb | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }' "$RESULTS"
  echo
  echo "</details>"
}

bench_publish
