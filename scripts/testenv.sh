#!/usr/bin/env bash
# scripts/testenv.sh: real servers for k12ctl's integration tests (DESIGN.md section 7).
#
#   scripts/testenv.sh up       install what is missing, then start (or reuse) a throwaway
#                               PostgreSQL 15 cluster, a throwaway PostgreSQL 16 cluster,
#                               Redis and a single-node Garage (S3), and write target/testenv/env
#   scripts/testenv.sh up SERVICE...
#                               the same for some of postgres (15), postgres16, redis and
#                               garage only (`up postgres`: scripts/demo.sh); what an earlier
#                               `up` started stays up and in the env file
#   scripts/testenv.sh down     stop everything `up` started and remove its files (safe to
#                               call twice)
#   scripts/testenv.sh status   say what runs (exit 0 when all that `up` started runs, 1
#                               otherwise)
#
# After `up`:   . target/testenv/env && cargo test
# The env file exports K12CTL_TEST_PG_URL and K12CTL_TEST_PG_BINDIR (postgres),
# K12CTL_TEST_PG16_URL and K12CTL_TEST_PG16_BINDIR (postgres16), K12CTL_TEST_REDIS_URL (redis),
# K12CTL_TEST_S3_ENDPOINT, K12CTL_TEST_S3_BUCKET, K12CTL_TEST_S3_REGION,
# K12CTL_TEST_S3_ACCESS_KEY_ID, K12CTL_TEST_S3_SECRET_ACCESS_KEY, K12CTL_TEST_GARAGE_CONFIG and
# K12CTL_TEST_GARAGE_BIN (garage), for the services started.
#
# Everything binds to 127.0.0.1 on free ports. State lives in target/testenv/ (override with
# K12CTL_TESTENV_DIR); each PostgreSQL data directory lives in a /tmp/k12ctl-pg.* (15) or
# /tmp/k12ctl-pg16.* (16) directory (owned by the postgres user when run as root, since
# PostgreSQL refuses to run as root and may not be able to traverse the repository's parent
# directories). Both clusters have the same role and password (k12test).
# Installs, when missing: postgresql + postgresql-contrib and redis-server (apt), garage
# 2.5.0 (cargo install, 15-25 min the first time), the AWS CLI (pip, in a venv under
# ~/.cache/k12ctl-testenv), which checks the S3 API before `up` declares success, and
# PostgreSQL 16.2 from the PyPI wheel pgserver 0.1.4 (pip, in a venv under
# ~/.cache/k12ctl-testenv; Debian 12 has only 15). The wheel's programs find their libraries
# (pgserver.libs/) through their own RPATH ($ORIGIN/../../../pgserver.libs), so they need no
# LD_LIBRARY_PATH: K12CTL_PG_BINDIR=$K12CTL_TEST_PG16_BINDIR is all k12ctl needs. Each `up` of
# the 16 cluster copies the wheel's bin/, lib/, share/ and pgserver.libs/ (27 MB, 0.1 s) into
# the cluster's /tmp directory, keeping that layout, because the postgres user cannot enter
# root's home; K12CTL_TEST_PG16_BINDIR is that copy's bin/. The wheel has no contrib modules
# (no pg_stat_statements).
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
STATE="${K12CTL_TESTENV_DIR:-$ROOT/target/testenv}"
# Absolute: the servers run from other working directories.
STATE="$(realpath -m -- "$STATE")"
ENV_FILE="$STATE/env"

PG_BINDIR=/usr/lib/postgresql/15/bin
PG_TMP_PREFIX=/tmp/k12ctl-pg.
PG16_TMP_PREFIX=/tmp/k12ctl-pg16.
PGSERVER_VERSION=0.1.4
PGSERVER_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/k12ctl-testenv/pgserver-$PGSERVER_VERSION"
# The programs of the wheel that testenv and k12ctl run.
PG16_TOOLS=(initdb pg_ctl postgres pg_dump pg_restore psql)
PG_ROLE=k12test
PG_PASSWORD=k12test-pw-Secr3t
REDIS_DIR="$STATE/redis"
GARAGE_VERSION=2.5.0
GARAGE_DIR="$STATE/garage"
GARAGE_CONFIG="$GARAGE_DIR/garage.toml"
GARAGE_LOG="$GARAGE_DIR/garage.log"
# Fixed test secrets: this Garage only ever listens on 127.0.0.1 and holds test data.
GARAGE_RPC_SECRET=a10270bf39e06d4dbf12e32054d5095f15861895779253a058ea6c196e633190
GARAGE_ADMIN_TOKEN=k12test-garage-admin-token
S3_BUCKET=k12-test
S3_REGION=garage
S3_KEY_NAME="test"
S3_ACCESS_KEY_ID=GK5e7e686fad97db4ef8f75fea
S3_SECRET_ACCESS_KEY=81e678e20e29b5b1b3a22aee17abd0b9bb31a979b486afe3fc037f71303ec1df
AWSCLI_VERSION=1.45.11
AWSCLI_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/k12ctl-testenv/awscli-$AWSCLI_VERSION"
# Ports are picked below the kernel's ephemeral range (32768+), so that outgoing
# connections never hold them.
PORT_MIN=20000
PORT_SPAN=12000

ALL_SERVICES="postgres postgres16 redis garage"
SERVICES=$ALL_SERVICES # what this `up` brings up: some of $ALL_SERVICES, in that order
GARAGE_BIN=""
PGSERVER_SITE="" # the venv's site-packages, holding pgserver/pginstall/ and pgserver.libs/
AWS_BIN=""
APT_UPDATED=0
declare -A PORTS_PICKED=()

# ---------------------------------------------------------------------------------------
# helpers

log() { printf 'testenv: %s\n' "$*" >&2; }
say() { printf 'testenv: %s\n' "$*"; }
die() {
  log "error: $*"
  exit 1
}
now_ms() { date +%s%3N; }
# took START_MS: "1.2s"
took() {
  local ms=$(($(now_ms) - $1))
  printf '%d.%ds' $((ms / 1000)) $(((ms % 1000) / 100))
}
# Print the last lines of a log file, prefixed, to help understand a failure.
show_log() {
  local file=$1
  [[ -r $file ]] || return 0
  log "last lines of $file:"
  tail -n 25 -- "$file" | sed 's/^/testenv:   | /' >&2 || true
}
is_root() { [[ $EUID -eq 0 ]]; }
# wants SERVICE: is SERVICE one of those this `up` brings up?
wants() { [[ " $SERVICES " == *" $1 "* ]]; }
as_root() {
  if is_root; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}
# Run "$@", output to LOG; on failure show the log's tail and die with MSG.
run_logged() {
  local logfile=$1 msg=$2
  shift 2
  if ! "$@" >>"$logfile" 2>&1; then
    show_log "$logfile"
    die "$msg"
  fi
}
# State files: one value per file in $STATE.
state_get() {
  local f="$STATE/$1"
  if [[ -s $f ]]; then printf '%s' "$(<"$f")"; fi
}
state_set() { printf '%s\n' "$2" >"$STATE/$1"; }
state_del() {
  local name
  for name in "$@"; do rm -f -- "${STATE:?}/$name"; done
}
# pid_is PID COMM [CMDLINE-SUBSTRING]: is PID alive and that program (guards against pid reuse)?
pid_is() {
  local pid=$1 comm=$2 needle=${3:-} actual cmdline
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  actual=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $actual == "$comm" ]] || return 1
  if [[ -n $needle ]]; then
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmdline == *"$needle"* ]] || return 1
  fi
  return 0
}
# stop_pid PID NAME: SIGTERM, wait up to 15 s, then SIGKILL.
stop_pid() {
  local pid=$1 name=$2 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "$name (pid $pid) did not stop after 15 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

# TCP ports in use on this machine (any state, IPv4 and IPv6), one a line.
ports_in_use() {
  local f _sl local_addr _rest
  for f in /proc/net/tcp /proc/net/tcp6; do
    [[ -r $f ]] || continue
    while read -r _sl local_addr _rest; do
      [[ $local_addr == *:* ]] || continue
      local hex=${local_addr##*:}
      if [[ $hex =~ ^[0-9A-Fa-f]+$ ]]; then printf '%d\n' "$((16#$hex))"; fi
    done <"$f"
  done
}
# free_port VAR: a TCP port nothing uses and this run has not handed out yet.
free_port() {
  local -n _out=$1
  local -A used=()
  local p try
  while read -r p; do used[$p]=1; done < <(ports_in_use)
  for ((try = 0; try < 500; try++)); do
    p=$((PORT_MIN + (RANDOM * 32768 + RANDOM) % PORT_SPAN))
    if [[ -z ${used[$p]:-} && -z ${PORTS_PICKED[$p]:-} ]]; then
      PORTS_PICKED[$p]=1
      _out=$p
      return 0
    fi
  done
  die "no free TCP port found in $PORT_MIN-$((PORT_MIN + PORT_SPAN - 1))"
}

# ---------------------------------------------------------------------------------------
# installation (only of what is missing)

apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install these by hand: $*"
  if ! is_root && ! command -v sudo >/dev/null 2>&1; then
    die "not root and no sudo; install these by hand: $*"
  fi
  local logfile="$STATE/install-apt.log" t0
  t0=$(now_ms)
  if [[ $APT_UPDATED -eq 0 ]]; then
    log "apt-get update (log: $logfile)"
    run_logged "$logfile" "apt-get update failed" \
      as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    APT_UPDATED=1
  fi
  log "apt-get install $* (log: $logfile)"
  run_logged "$logfile" "apt-get install $* failed" \
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
  log "apt packages installed ($(took "$t0"))"
}

# A garage binary of the pinned version: on PATH, in $CARGO_HOME/bin or ~/.cargo/bin.
find_garage() {
  local candidate version_re="[^0-9.]${GARAGE_VERSION//./\\.}([^0-9.]|$)"
  for candidate in "$(command -v garage 2>/dev/null || true)" \
    "${CARGO_HOME:-$HOME/.cargo}/bin/garage" "$HOME/.cargo/bin/garage"; do
    [[ -n $candidate && -x $candidate ]] || continue
    if [[ $("$candidate" --version 2>/dev/null || true) =~ $version_re ]]; then
      GARAGE_BIN=$candidate
      return 0
    fi
  done
  return 1
}

find_aws() {
  if command -v aws >/dev/null 2>&1; then
    AWS_BIN=$(command -v aws)
  elif [[ -x $AWSCLI_VENV/bin/aws ]]; then
    AWS_BIN=$AWSCLI_VENV/bin/aws
  else
    return 1
  fi
}

# pgserver's PostgreSQL 16 in its venv: sets PGSERVER_SITE when every program in PG16_TOOLS
# is there and says it is 16.
find_pgserver() {
  local site tool
  for site in "$PGSERVER_VENV"/lib/python3*/site-packages; do
    [[ -d $site/pgserver/pginstall/bin && -d $site/pgserver.libs ]] || continue
    for tool in "${PG16_TOOLS[@]}"; do
      [[ $("$site/pgserver/pginstall/bin/$tool" --version 2>/dev/null || true) == *" 16."* ]] ||
        continue 2
    done
    PGSERVER_SITE=$site
    return 0
  done
  return 1
}

# pip_venv NAME VENV SPEC: a fresh venv at VENV with SPEC installed by pip (log in $STATE).
pip_venv() {
  local name=$1 venv=$2 spec=$3 logfile="$STATE/install-$1.log"
  shift 3
  log "installing $spec with pip into $venv (log: $logfile)"
  rm -rf -- "$venv"
  mkdir -p -- "$(dirname -- "$venv")"
  run_logged "$logfile" "creating the $name venv failed" python3 -m venv "$venv"
  run_logged "$logfile" "pip install $spec failed" \
    "$venv/bin/pip" install --disable-pip-version-check "$@" "$spec"
}

ensure_installed() {
  local -a pkgs=()
  local need_garage=0 need_aws=0 need_pgserver=0
  if wants postgres; then
    if [[ ! -x $PG_BINDIR/initdb || ! -x $PG_BINDIR/pg_ctl || ! -x $PG_BINDIR/psql ]]; then
      pkgs+=(postgresql)
    fi
    if [[ ! -x $PG_BINDIR/pgbench ]]; then pkgs+=(postgresql-contrib); fi
    # The stock-tools recipe of zstd backups (`zstd -dc x.dump.zst | pg_restore`) is tested.
    command -v zstd >/dev/null 2>&1 || pkgs+=(zstd)
  fi
  if wants redis; then
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
      pkgs+=(redis-server redis-tools)
    fi
  fi
  if wants garage; then
    if ! find_garage; then
      need_garage=1
      command -v cargo >/dev/null 2>&1 || die "garage $GARAGE_VERSION is missing and cargo is not on PATH"
      command -v cc >/dev/null 2>&1 || pkgs+=(gcc libc6-dev)
    fi
    find_aws || need_aws=1
  fi
  if wants postgres16; then
    find_pgserver || need_pgserver=1
  fi
  if [[ $need_aws -eq 1 || $need_pgserver -eq 1 ]]; then
    if ! command -v python3 >/dev/null 2>&1; then
      pkgs+=(python3 python3-venv)
    elif ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
      pkgs+=(python3-venv)
    fi
  fi

  if [[ ${#pkgs[@]} -gt 0 ]]; then apt_install "${pkgs[@]}"; fi
  if wants postgres; then
    [[ -x $PG_BINDIR/initdb ]] || die "PostgreSQL 15 is not in $PG_BINDIR after installing"
  fi
  if is_root && { wants postgres || wants postgres16; } && ! id -u postgres >/dev/null 2>&1; then
    die "running as root but there is no 'postgres' user to run PostgreSQL as (apt-get install postgresql-common)"
  fi

  if [[ $need_garage -eq 1 ]]; then
    local logfile="$STATE/install-garage.log" t0
    t0=$(now_ms)
    log "installing garage $GARAGE_VERSION with cargo install (15-25 min; log: $logfile)"
    run_logged "$logfile" "cargo install garage failed" \
      cargo install garage --version "$GARAGE_VERSION" --locked
    find_garage || die "garage $GARAGE_VERSION still not found after cargo install"
    log "garage installed ($(took "$t0"))"
  fi

  if [[ $need_aws -eq 1 ]]; then
    local t0
    t0=$(now_ms)
    pip_venv awscli "$AWSCLI_VENV" "awscli==$AWSCLI_VERSION"
    find_aws || die "aws still not found after pip install"
    log "awscli installed ($(took "$t0"))"
  fi

  if [[ $need_pgserver -eq 1 ]]; then
    local t0
    t0=$(now_ms)
    # Only its PostgreSQL build is used, not its Python API: no dependencies. A wheel or
    # nothing: its source distribution would compile PostgreSQL.
    pip_venv pgserver "$PGSERVER_VENV" "pgserver==$PGSERVER_VERSION" --no-deps --only-binary=:all:
    find_pgserver || die "PostgreSQL 16 (${PG16_TOOLS[*]}) not found in $PGSERVER_VENV after pip install"
    log "pgserver installed ($(took "$t0"))"
  fi
}

# ---------------------------------------------------------------------------------------
# PostgreSQL: two throwaway clusters, pg (15, Debian's packages) in
# /tmp/k12ctl-pg.XXXXXX/{data,postgres.log,.s.PGSQL.*} and pg16 (16, the pgserver wheel) in
# /tmp/k12ctl-pg16.XXXXXX/{data,postgres.log,.s.PGSQL.*,pgserver/pginstall,pgserver.libs}.
# State files CLUSTER.tmpdir and CLUSTER.port.

pg_url() { printf 'postgres://%s:%s@127.0.0.1:%s/postgres' "$PG_ROLE" "$PG_PASSWORD" "$1"; }

# pg_label CLUSTER: its name in messages (the service's name).
pg_label() { if [[ $1 == pg16 ]]; then printf 'postgres16'; else printf 'postgres'; fi; }
# pg_major CLUSTER
pg_major() { if [[ $1 == pg16 ]]; then printf '16'; else printf '15'; fi; }
pg_tmp_prefix() { if [[ $1 == pg16 ]]; then printf '%s' "$PG16_TMP_PREFIX"; else printf '%s' "$PG_TMP_PREFIX"; fi; }
# pg_bindir CLUSTER: where its programs are (for pg16, the copy in its directory).
pg_bindir() {
  if [[ $1 == pg16 ]]; then
    printf '%s/pgserver/pginstall/bin' "$(state_get pg16.tmpdir)"
  else
    printf '%s' "$PG_BINDIR"
  fi
}

# Run a PostgreSQL program as the postgres user when root (PostgreSQL refuses root), from a
# directory that user can enter.
pg_as() {
  if is_root; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

# pg_alive CLUSTER: does it answer on its port, with the test role, as the right version?
pg_alive() {
  local c=$1 tmp port bindir
  tmp=$(state_get "$c.tmpdir")
  port=$(state_get "$c.port")
  bindir=$(pg_bindir "$c")
  [[ -n $tmp && -n $port && -f $tmp/data/postmaster.pid && -x $bindir/psql ]] || return 1
  # The password through the environment, never on a command line.
  [[ $(PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=5 "$bindir/psql" -X -A -t -q \
    -h 127.0.0.1 -p "$port" -U "$PG_ROLE" -d postgres \
    -c "SELECT current_setting('server_version_num')::int / 10000" 2>/dev/null) == "$(pg_major "$c")" ]]
}

# pg_stop CLUSTER: pg_ctl stop; when that fails, the postmaster of postmaster.pid is signalled.
pg_stop() {
  local c=$1 tmp label bindir pid
  label=$(pg_label "$c")
  tmp=$(state_get "$c.tmpdir")
  if [[ -n $tmp && $tmp == "$(pg_tmp_prefix "$c")"* && -d $tmp ]]; then
    if [[ -f $tmp/data/postmaster.pid ]]; then
      log "$label: stopping (pg_ctl stop -m fast)"
      bindir=$(pg_bindir "$c")
      if ! pg_as "$bindir/pg_ctl" -D "$tmp/data" -m fast -w -t 60 stop >/dev/null 2>&1; then
        pid=$(head -n 1 "$tmp/data/postmaster.pid" 2>/dev/null || true)
        if pid_is "$pid" postgres "$tmp/data"; then
          log "$label: pg_ctl stop failed; stopping the postmaster (pid $pid)"
          stop_pid "$pid" "$label"
        else
          log "$label: pg_ctl stop failed (already stopped?)"
        fi
      fi
    fi
    rm -rf -- "$tmp"
  fi
  state_del "$c.tmpdir" "$c.port"
}

# pg16_copy DIR: the wheel's PostgreSQL into DIR, in the wheel's layout (its programs find
# pgserver.libs/ at $ORIGIN/../../../pgserver.libs and share/ beside bin/), readable by all.
pg16_copy() {
  local dir=$1 part
  mkdir -p -- "$dir/pgserver/pginstall"
  for part in bin lib share; do
    cp -a -- "$PGSERVER_SITE/pgserver/pginstall/$part" "$dir/pgserver/pginstall/$part"
  done
  cp -a -- "$PGSERVER_SITE/pgserver.libs" "$dir/pgserver.libs"
  chmod -R a+rX -- "$dir/pgserver" "$dir/pgserver.libs"
}

# pg_start CLUSTER
pg_start() {
  local c=$1 t0 tmp port label bindir
  t0=$(now_ms)
  label=$(pg_label "$c")
  tmp=$(mktemp -d "$(pg_tmp_prefix "$c")XXXXXX")
  state_set "$c.tmpdir" "$tmp" # recorded at once, so that `down` cleans up a failed start
  if [[ $c == pg16 ]]; then pg16_copy "$tmp"; fi
  if is_root; then chown postgres:postgres "$tmp"; fi
  bindir=$(pg_bindir "$c")
  free_port port
  local data="$tmp/data" logfile="$tmp/postgres.log"
  log "$label: initdb in $data ($bindir)"
  pg_as "$bindir/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >"$STATE/$c-initdb.log" 2>&1 || {
    show_log "$STATE/$c-initdb.log"
    die "$label: initdb failed"
  }
  cat >>"$data/postgresql.conf" <<EOF

# --- k12ctl test environment (scripts/testenv.sh) ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$tmp'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
password_encryption = 'scram-sha-256'
EOF
  log "$label: starting on 127.0.0.1:$port"
  pg_as "$bindir/pg_ctl" -D "$data" -l "$logfile" -w -t 60 start >"$STATE/$c-start.log" 2>&1 9>&- || {
    show_log "$logfile"
    die "$label: pg_ctl start failed"
  }
  state_set "$c.port" "$port"
  # The password on standard input, never on a command line.
  printf "CREATE ROLE %s WITH LOGIN SUPERUSER PASSWORD '%s';\n" "$PG_ROLE" "$PG_PASSWORD" |
    pg_as "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$tmp" -p "$port" -U postgres -d postgres -f - ||
    die "$label: creating role $PG_ROLE failed"
  pg_alive "$c" || die "$label: cannot connect to 127.0.0.1:$port as $PG_ROLE"
  log "$label: PostgreSQL $(pg_major "$c") ready on 127.0.0.1:$port, data in $data ($(took "$t0"))"
}

# pg_up CLUSTER
pg_up() {
  local c=$1
  if pg_alive "$c"; then
    log "$(pg_label "$c"): reusing the running cluster on 127.0.0.1:$(state_get "$c.port")"
  else
    pg_stop "$c"
    pg_start "$c"
  fi
}

# ---------------------------------------------------------------------------------------
# Redis: no persistence, daemonized, pid file in target/testenv/redis/

redis_alive() {
  local pid port
  pid=$(state_get redis.pid)
  port=$(state_get redis.port)
  [[ -n $port ]] && pid_is "$pid" redis-server || return 1
  [[ $(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]]
}

redis_stop() {
  local pid
  pid=$(state_get redis.pid)
  if [[ -n $pid ]] && pid_is "$pid" redis-server; then
    log "redis: stopping pid $pid"
    stop_pid "$pid" redis
  fi
  rm -rf -- "$REDIS_DIR"
  state_del redis.pid redis.port
}

redis_start() {
  local t0 port pid="" i
  t0=$(now_ms)
  free_port port
  mkdir -p -- "$REDIS_DIR"
  log "redis: starting on 127.0.0.1:$port"
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --daemonize yes --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" \
    --dir "$REDIS_DIR" >/dev/null 2>&1 9>&- || {
    show_log "$REDIS_DIR/redis.log"
    die "redis: redis-server failed to start"
  }
  state_set redis.port "$port"
  for ((i = 0; i < 100; i++)); do
    pid=$(cat "$REDIS_DIR/redis.pid" 2>/dev/null || true)
    if [[ -n $pid ]]; then
      state_set redis.pid "$pid"
      if redis_alive; then
        log "redis: ready on 127.0.0.1:$port, pid $pid ($(took "$t0"))"
        return 0
      fi
    fi
    sleep 0.1
  done
  show_log "$REDIS_DIR/redis.log"
  die "redis: not answering PING on 127.0.0.1:$port after 10 s"
}

redis_up() {
  if redis_alive; then
    log "redis: reusing the running server on 127.0.0.1:$(state_get redis.port)"
  else
    redis_stop
    redis_start
  fi
}

# ---------------------------------------------------------------------------------------
# Garage: single node, sqlite metadata, fixed key, bucket k12-test

# Garage reads these from the environment in preference to its config file: drop the caller's.
GARAGE_CLEAN_ENV=(env -u GARAGE_RPC_HOST -u GARAGE_RPC_SECRET -u GARAGE_RPC_SECRET_FILE
  -u GARAGE_ADMIN_TOKEN -u GARAGE_ADMIN_TOKEN_FILE -u GARAGE_METRICS_TOKEN
  -u GARAGE_METRICS_TOKEN_FILE -u GARAGE_CONFIG_FILE)
# The garage CLI on our config.
g() { "${GARAGE_CLEAN_ENV[@]}" "$GARAGE_BIN" -c "$GARAGE_CONFIG" "$@"; }

garage_alive() {
  local pid
  pid=$(state_get garage.pid)
  [[ -n $GARAGE_BIN && -f $GARAGE_CONFIG && -n $(state_get garage.s3port) ]] || return 1
  pid_is "$pid" garage "$GARAGE_CONFIG" || return 1
  g status >/dev/null 2>&1
}

garage_stop() {
  local pid
  pid=$(state_get garage.pid)
  if [[ -n $pid ]] && pid_is "$pid" garage "$GARAGE_CONFIG"; then
    log "garage: stopping pid $pid"
    stop_pid "$pid" garage
  fi
  rm -rf -- "$GARAGE_DIR"
  state_del garage.pid garage.s3port garage.rpcport garage.adminport
}

garage_start() {
  local t0 s3port rpcport adminport pid i node_id
  t0=$(now_ms)
  free_port s3port
  free_port rpcport
  free_port adminport
  mkdir -p -- "$GARAGE_DIR/meta" "$GARAGE_DIR/data"
  cat >"$GARAGE_CONFIG" <<EOF
# k12ctl test environment (scripts/testenv.sh): single-node Garage $GARAGE_VERSION.
metadata_dir = "$GARAGE_DIR/meta"
data_dir = "$GARAGE_DIR/data"
db_engine = "sqlite"
metadata_fsync = false
data_fsync = false
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpcport"
rpc_public_addr = "127.0.0.1:$rpcport"
rpc_secret = "$GARAGE_RPC_SECRET"

[s3_api]
s3_region = "$S3_REGION"
api_bind_addr = "127.0.0.1:$s3port"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$adminport"
admin_token = "$GARAGE_ADMIN_TOKEN"
EOF
  chmod 600 "$GARAGE_CONFIG"
  state_set garage.s3port "$s3port"
  state_set garage.rpcport "$rpcport"
  state_set garage.adminport "$adminport"

  log "garage: starting (S3 127.0.0.1:$s3port, RPC :$rpcport, admin :$adminport; log: $GARAGE_LOG)"
  "${GARAGE_CLEAN_ENV[@]}" NO_COLOR=1 RUST_LOG=info nohup "$GARAGE_BIN" -c "$GARAGE_CONFIG" server \
    >>"$GARAGE_LOG" 2>&1 </dev/null 9>&- &
  pid=$!
  state_set garage.pid "$pid"
  for ((i = 0; i < 150; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_log "$GARAGE_LOG"
      die "garage: the server exited during startup"
    fi
    if g status >/dev/null 2>&1; then break; fi
    sleep 0.2
  done
  g status >/dev/null 2>&1 || {
    show_log "$GARAGE_LOG"
    die "garage: not ready after 30 s"
  }
  log "garage: server up ($(took "$t0")); setting up layout, key and bucket"

  local setup_log="$GARAGE_DIR/setup.log"
  node_id=$(g node id -q 2>>"$setup_log") || die "garage: 'garage node id' failed"
  node_id=${node_id%%@*}
  [[ $node_id =~ ^[0-9a-f]{16,}$ ]] || die "garage: unexpected node id '$node_id'"
  run_logged "$setup_log" "garage: layout assign failed" g layout assign -z dc1 -c 1G "$node_id"
  run_logged "$setup_log" "garage: layout apply failed" g layout apply --version 1
  run_logged "$setup_log" "garage: key import failed" \
    g key import --yes -n "$S3_KEY_NAME" "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY"
  # Right after the layout change the cluster may need a moment before it takes writes.
  for ((i = 0; i < 50; i++)); do
    if g bucket create "$S3_BUCKET" >>"$setup_log" 2>&1; then break; fi
    sleep 0.2
  done
  g bucket info "$S3_BUCKET" >>"$setup_log" 2>&1 || {
    show_log "$setup_log"
    die "garage: bucket create $S3_BUCKET failed"
  }
  run_logged "$setup_log" "garage: bucket allow failed" \
    g bucket allow --read --write --owner "$S3_BUCKET" --key "$S3_KEY_NAME"
  log "garage: ready, node $node_id, bucket $S3_BUCKET, key $S3_ACCESS_KEY_ID ($(took "$t0"))"
}

# The AWS CLI against our Garage only, whatever the caller's AWS configuration.
aws_test() {
  env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_S3 \
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    AWS_ACCESS_KEY_ID="$S3_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$S3_SECRET_ACCESS_KEY" \
    AWS_DEFAULT_REGION="$S3_REGION" AWS_MAX_ATTEMPTS=2 \
    "$AWS_BIN" --endpoint-url "http://127.0.0.1:$(state_get garage.s3port)" \
    --cli-connect-timeout 5 --cli-read-timeout 30 "$@"
}

# Check the S3 API with the test key: list the bucket; with "full", also write, read back
# and delete an object.
s3_verify() {
  local mode=${1:-} t0 probe=".k12ctl-testenv-probe" got verify_log="$STATE/s3-verify.log"
  t0=$(now_ms)
  : >"$verify_log"
  run_logged "$verify_log" "S3 check failed: aws s3 ls s3://$S3_BUCKET" \
    aws_test s3 ls "s3://$S3_BUCKET"
  if [[ $mode == full ]]; then
    printf 'ok\n' | run_logged "$verify_log" "S3 check failed: put object" \
      aws_test s3 cp - "s3://$S3_BUCKET/$probe"
    got=$(aws_test s3 cp "s3://$S3_BUCKET/$probe" - 2>>"$verify_log") ||
      die "S3 check failed: get object (log: $verify_log)"
    [[ $got == ok ]] || die "S3 check failed: read back '$got' instead of 'ok'"
    run_logged "$verify_log" "S3 check failed: delete object" \
      aws_test s3 rm "s3://$S3_BUCKET/$probe"
  fi
  log "s3: the API answers with the test key (aws s3${mode:+, put/get/delete}) ($(took "$t0"))"
}

garage_up() {
  if garage_alive; then
    log "garage: reusing the running server (S3 on 127.0.0.1:$(state_get garage.s3port))"
    s3_verify
  else
    garage_stop
    garage_start
    s3_verify full
  fi
}

# ---------------------------------------------------------------------------------------
# env file

write_env() {
  local tmpf="$ENV_FILE.tmp.$$"
  {
    printf '# Written by scripts/testenv.sh up; load with: . %q\n' "$ENV_FILE"
    if wants postgres; then
      printf 'export %s=%q\n' \
        K12CTL_TEST_PG_URL "$(pg_url "$(state_get pg.port)")" \
        K12CTL_TEST_PG_BINDIR "$(pg_bindir pg)"
    fi
    if wants postgres16; then
      printf 'export %s=%q\n' \
        K12CTL_TEST_PG16_URL "$(pg_url "$(state_get pg16.port)")" \
        K12CTL_TEST_PG16_BINDIR "$(pg_bindir pg16)"
    fi
    if wants garage; then
      printf 'export %s=%q\n' \
        K12CTL_TEST_S3_ENDPOINT "http://127.0.0.1:$(state_get garage.s3port)" \
        K12CTL_TEST_S3_BUCKET "$S3_BUCKET" \
        K12CTL_TEST_S3_REGION "$S3_REGION" \
        K12CTL_TEST_S3_ACCESS_KEY_ID "$S3_ACCESS_KEY_ID" \
        K12CTL_TEST_S3_SECRET_ACCESS_KEY "$S3_SECRET_ACCESS_KEY" \
        K12CTL_TEST_GARAGE_CONFIG "$GARAGE_CONFIG" \
        K12CTL_TEST_GARAGE_BIN "$GARAGE_BIN"
    fi
    if wants redis; then
      printf 'export %s=%q\n' K12CTL_TEST_REDIS_URL "redis://127.0.0.1:$(state_get redis.port)"
    fi
  } >"$tmpf"
  mv -f -- "$tmpf" "$ENV_FILE"
  log "wrote $ENV_FILE"
}

# ---------------------------------------------------------------------------------------
# subcommands

# One testenv.sh at a time per state dir. The servers are started with fd 9 closed, so
# that they do not hold the lock after this script exits.
lock_state() {
  mkdir -p -- "$STATE"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$STATE/.lock"
    if ! flock -n 9; then
      log "waiting for another scripts/testenv.sh to finish (lock $STATE/.lock)"
      flock -w 1800 9 || die "another scripts/testenv.sh still holds $STATE/.lock after 30 min"
    fi
  fi
}

# in_order WORD...: the services among WORDs, in $ALL_SERVICES order, without repeats.
in_order() {
  local s out=""
  for s in $ALL_SERVICES; do
    if [[ " $* " == *" $s "* ]]; then out+="${out:+ }$s"; fi
  done
  printf '%s' "$out"
}

cmd_up() {
  local t0 ready list tools=()
  t0=$(now_ms)
  lock_state
  # What an earlier `up` started stays up, and in the env file.
  # shellcheck disable=SC2046,SC2086 # word lists
  SERVICES=$(in_order $SERVICES $(state_get services))
  ensure_installed
  if wants postgres; then tools+=("$PG_BINDIR"); fi
  if wants postgres16; then tools+=("$PGSERVER_SITE/pgserver (PostgreSQL 16)"); fi
  if wants redis; then tools+=("$(command -v redis-server)"); fi
  if wants garage; then tools+=("$GARAGE_BIN" "$AWS_BIN"); fi
  printf -v list '%s, ' "${tools[@]}"
  log "tools: ${list%, }"
  if wants postgres; then pg_up pg; fi
  if wants postgres16; then pg_up pg16; fi
  if wants redis; then redis_up; fi
  if wants garage; then garage_up; fi
  state_set services "$SERVICES"
  write_env
  if [[ $SERVICES == "$ALL_SERVICES" ]]; then ready="all services"; else ready="$SERVICES (only)"; fi
  log "up: $ready ready ($(took "$t0")); stop them with scripts/testenv.sh down"
}

cmd_down() {
  local t0
  t0=$(now_ms)
  if [[ ! -d $STATE ]]; then
    log "down: nothing to stop"
    return 0
  fi
  lock_state
  if [[ -z $(find "$STATE" -mindepth 1 -maxdepth 1 ! -name .lock -print -quit) ]]; then
    log "down: nothing to stop"
    return 0
  fi
  find_garage || true
  garage_stop
  redis_stop
  pg_stop pg16
  pg_stop pg
  find "$STATE" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf -- {} +
  log "down: stopped ($(took "$t0"))"
}

cmd_status() {
  local ok=0 tmp started service c
  started=$(state_get services)
  find_garage || true
  for service in $ALL_SERVICES; do
    if [[ -n $started && " $started " != *" $service "* ]]; then
      say "$service: not started (scripts/testenv.sh up $service)"
      continue
    fi
    case $service in
    postgres | postgres16)
      if [[ $service == postgres16 ]]; then c=pg16; else c=pg; fi
      if pg_alive "$c"; then
        tmp=$(state_get "$c.tmpdir")
        say "$service: PostgreSQL $(pg_major "$c") running on 127.0.0.1:$(state_get "$c.port") (data $tmp/data, log $tmp/postgres.log, programs $(pg_bindir "$c"))"
      else
        say "$service: not running"
        ok=1
      fi
      ;;
    redis)
      if redis_alive; then
        say "redis: running on 127.0.0.1:$(state_get redis.port), pid $(state_get redis.pid)"
      else
        say "redis: not running"
        ok=1
      fi
      ;;
    garage)
      if garage_alive; then
        say "garage: running, S3 on 127.0.0.1:$(state_get garage.s3port), pid $(state_get garage.pid) (config $GARAGE_CONFIG, log $GARAGE_LOG)"
      else
        say "garage: not running"
        ok=1
      fi
      ;;
    esac
  done
  if [[ -f $ENV_FILE ]]; then say "env file: $ENV_FILE"; fi
  return "$ok"
}

usage() {
  printf 'usage: %s up [SERVICE...]|down|status   (SERVICE: %s)\n' "$0" "${ALL_SERVICES// /, }" >&2
  exit 2
}

case "${1:-}" in
up)
  shift
  if [[ $# -gt 0 ]]; then
    for arg in "$@"; do
      [[ " $ALL_SERVICES " == *" $arg "* ]] || usage
    done
    SERVICES=$(in_order "$@")
  fi
  cmd_up
  ;;
down | status)
  [[ $# -eq 1 ]] || usage
  "cmd_$1"
  ;;
*) usage ;;
esac
