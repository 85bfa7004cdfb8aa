# shellcheck shell=bash
# Shared code of scripts/infra/{up,down,start,stop,restart}. Sourced, never run.
#
# Why one library: every script must agree on where PID files, logs and data live, and on what
# "running" means (PID file alive AND port answering), otherwise `down` could miss what `up`
# started or kill something it did not start. Processes are only ever found through our PID
# files, never by name.

INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$INFRA_DIR/../.." && pwd)"
STATE="$REPO/.elysia"
RUN_DIR="$STATE/run"
LOG_DIR="$STATE/logs"
CACHE="${ELYSIA_CACHE_DIR:-$HOME/.cache/elysia}"
VENV="${ELYSIA_VENV:-$REPO/.venv}"
PY="$VENV/bin/python"

ALL_SERVICES=(redis mongodb elasticsearch s3 kube)

REDIS_PORT="${ELYSIA_INFRA_REDIS_PORT:-6379}"
MONGODB_PORT="${ELYSIA_INFRA_MONGODB_PORT:-27017}"
ES_PORT="${ELYSIA_INFRA_ES_PORT:-9200}"
S3_PORT="${ELYSIA_INFRA_S3_PORT:-5000}"
ES_VERSION="${ELYSIA_ES_VERSION:-8.19.21}"
ES_USER="${ELYSIA_ES_USER:-elysia}"
S3_BUCKET="${ELYSIA_INFRA_S3_BUCKET:-elysia}"
S3_ACCESS_KEY_ID="elysia"
S3_SECRET_ACCESS_KEY="elysia-secret"
READY_TIMEOUT="${ELYSIA_INFRA_TIMEOUT:-180}"

log() { printf '[infra] %s\n' "$*" >&2; }
die() {
  printf '[infra] ERROR: %s\n' "$*" >&2
  exit 1
}

now_ms() { date +%s%3N; }
elapsed() { printf '%d.%01ds' $((($(now_ms) - $1) / 1000)) $(((($(now_ms) - $1) % 1000) / 100)); }

is_root() { [ "$(id -u)" = 0 ]; }

pid_file() { printf '%s/%s.pid' "$RUN_DIR" "$1"; }

service_port() {
  case "$1" in
    redis) echo "$REDIS_PORT" ;;
    mongodb) echo "$MONGODB_PORT" ;;
    elasticsearch) echo "$ES_PORT" ;;
    s3) echo "$S3_PORT" ;;
    *) return 1 ;;
  esac
}

# True when something accepts TCP connections on 127.0.0.1:PORT (bash's /dev/tcp: no extra tool).
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

read_pid() {
  local f
  f="$(pid_file "$1")"
  [ -s "$f" ] && tr -dc '0-9' <"$f"
}

# True when PID is alive AND is the server of SERVICE (its command line says so). A PID file that
# outlived its process (a reboot, a crash) may name an unrelated process that got the same PID:
# that one must never be waited for, let alone killed.
pid_is_service() {
  local cmd
  pid_alive "${2:-}" || return 1
  cmd="$(tr '\0' ' ' <"/proc/$2/cmdline" 2>/dev/null)" || return 1
  case "$1" in
    redis) [[ "$cmd" == *redis-server*":$REDIS_PORT"* ]] ;;
    mongodb) [[ "$cmd" == *secantusd-py*"--port $MONGODB_PORT"* ]] ;;
    s3) [[ "$cmd" == *moto_server*"-p $S3_PORT"* ]] ;;
    elasticsearch) [[ "$cmd" == *org.elasticsearch.bootstrap.Elasticsearch* ]] ;;
    *) return 1 ;;
  esac
}

# The PID from SERVICE's PID file if that process is still our server; else nothing, and a stale
# PID file is removed.
our_pid() {
  local pid
  pid="$(read_pid "$1" || true)"
  [ -n "$pid" ] || return 0
  if pid_is_service "$1" "$pid"; then
    echo "$pid"
  else
    rm -f "$(pid_file "$1")"
  fi
}

# Every descendant of a PID (children first found, recursively), from /proc via ps.
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}

# Stop a process we started and everything it spawned: TERM, wait, then KILL what is left.
# The tree is collected BEFORE signalling, because children are re-parented once the parent dies.
stop_tree() {
  local name="$1" pid="$2" wait_s="${3:-30}" pids p deadline
  pids="$pid $(descendants "$pid" | tr '\n' ' ')"
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  deadline=$((SECONDS + wait_s))
  while [ $SECONDS -lt $deadline ]; do
    local alive=""
    for p in $pids; do pid_alive "$p" && alive="$alive $p"; done
    [ -z "$alive" ] && return 0
    sleep 0.2
  done
  log "$name: still alive after ${wait_s}s, sending KILL to:$alive"
  # shellcheck disable=SC2086
  kill -KILL $alive 2>/dev/null || true
  sleep 0.5
}

# Wait until CHECK (a command) succeeds; on timeout print the log tail and fail.
wait_ready() {
  local name="$1" timeout="$2" logfile="$3" pid_getter="$4"
  shift 4
  local deadline=$((SECONDS + timeout)) pid
  while [ $SECONDS -lt $deadline ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    pid="$($pid_getter 2>/dev/null || true)"
    if [ -n "$pid" ] && ! pid_alive "$pid"; then
      log "$name: process $pid exited before it was ready; last lines of $logfile:"
      tail -n 40 "$logfile" >&2 2>/dev/null || true
      die "$name did not start"
    fi
    sleep 0.5
  done
  log "$name: not ready after ${timeout}s; last lines of $logfile:"
  tail -n 40 "$logfile" >&2 2>/dev/null || true
  die "$name did not become ready in ${timeout}s (raise ELYSIA_INFRA_TIMEOUT?)"
}

require_venv_bin() {
  [ -x "$VENV/bin/$1" ] || die "$VENV/bin/$1 is missing: run 'make setup' (creates .venv and installs .[dev])"
}

probe() { "$PY" "$INFRA_DIR/probe.py" "$@"; }

# Start COMMAND... detached in its own session (setsid), output to LOGFILE, PID to PIDFILE.
# fd 9 (the infra lock) is closed so the daemon does not hold the lock for its lifetime.
spawn() {
  local pidfile="$1" logfile="$2" workdir="$3"
  shift 3
  (
    cd "$workdir" || exit 1
    exec setsid nohup "$@" </dev/null >>"$logfile" 2>&1 9>&-
  ) &
  echo $! >"$pidfile"
}

# Parse and validate the SERVICE arguments (default: all), dropping ELYSIA_INFRA_SKIP entries.
select_services() {
  local s skip=",${ELYSIA_INFRA_SKIP:-},"
  SELECTED=()
  [ $# -eq 0 ] && set -- "${ALL_SERVICES[@]}"
  for s in "$@"; do
    case " ${ALL_SERVICES[*]} " in
      *" $s "*) ;;
      *) die "unknown service '$s' (known: ${ALL_SERVICES[*]})" ;;
    esac
    if [[ "$skip" == *",$s,"* ]]; then
      log "$s: skipped (ELYSIA_INFRA_SKIP=${ELYSIA_INFRA_SKIP})"
      continue
    fi
    SELECTED+=("$s")
  done
}

# One `up`/`down` at a time per work tree: parallel `make test` runs must not race to start the
# same server twice. Daemons are started with fd 9 closed so they never inherit the lock.
take_lock() {
  mkdir -p "$STATE" "$RUN_DIR" "$LOG_DIR"
  exec 9>"$STATE/infra.lock"
  flock -w 900 9 || die "another scripts/infra command holds $STATE/infra.lock for 15 min"
}

# ---------------------------------------------------------------------------------------------
# Redis (Debian's redis-server)

redis_install() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
  is_root || die "redis-server is not installed and we are not root: sudo apt-get install redis-server"
  log "redis: installing Debian's redis-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends redis-server >"$LOG_DIR/apt-redis.log" 2>&1 ||
    { apt-get update -q >>"$LOG_DIR/apt-redis.log" 2>&1 &&
      apt-get install -y -q --no-install-recommends redis-server >>"$LOG_DIR/apt-redis.log" 2>&1; } ||
    { tail -n 20 "$LOG_DIR/apt-redis.log" >&2; die "apt-get install redis-server failed"; }
}

redis_ping() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

redis_start() {
  local dir="$STATE/redis"
  mkdir -p "$dir"
  : >>"$LOG_DIR/redis.log"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" \
    --appendonly "${ELYSIA_REDIS_APPENDONLY:-no}" --dir "$dir" \
    --pidfile "$(pid_file redis)" --logfile "$LOG_DIR/redis.log" 9>&-
  wait_ready redis 30 "$LOG_DIR/redis.log" "read_pid redis" redis_ping
}

# ---------------------------------------------------------------------------------------------
# MongoDB wire protocol (SecantusDB from the project venv)

mongodb_install() { require_venv_bin secantusd-py; }

mongodb_start() {
  local dir="$STATE/mongodb"
  mkdir -p "$dir"
  # cwd = the data dir, so the launcher's ./secantusd.toml auto-discovery never picks up a stray file.
  spawn "$(pid_file mongodb)" "$LOG_DIR/mongodb.log" "$dir" \
    "$VENV/bin/secantusd-py" --host 127.0.0.1 --port "$MONGODB_PORT" --storage-path "$dir"
  wait_ready mongodb 60 "$LOG_DIR/mongodb.log" "read_pid mongodb" probe mongodb "$MONGODB_PORT"
}

# ---------------------------------------------------------------------------------------------
# Elasticsearch (the real one: integ-test-zip from Maven Central, run as an unprivileged user)

es_java_home() {
  if [ -n "${ES_JAVA_HOME:-}" ]; then
    echo "$ES_JAVA_HOME"
  elif [ -n "${JAVA_HOME:-}" ]; then
    echo "$JAVA_HOME"
  else
    dirname "$(dirname "$(readlink -f "$(command -v java)")")"
  fi
}

# The ES home, data and logs must be owned by (and reachable for) the unprivileged user. The work
# tree usually is; when it is not (e.g. a clone under /root, mode 700), the state lives under
# /var/lib/elysia and .elysia/elasticsearch is a symlink to it.
es_root() {
  local want="$STATE/elasticsearch"
  if ! is_root; then
    echo "$want"
    return
  fi
  if [ -L "$want" ]; then
    readlink -f "$want"
    return
  fi
  if runuser -u "$ES_USER" -- test -x "$STATE" 2>/dev/null; then
    echo "$want"
    return
  fi
  local alt
  alt="/var/lib/elysia/es-$(printf '%s' "$REPO" | sha1sum | cut -c1-12)"
  mkdir -p "$alt"
  [ -e "$want" ] || ln -s "$alt" "$want"
  echo "$alt"
}

es_zip() { echo "$CACHE/elasticsearch/elasticsearch-$ES_VERSION.zip"; }

es_install() {
  require_venv_bin python # the readiness check uses the venv's elasticsearch client
  local java_major
  java_major="$("$(es_java_home)/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
  [ "${java_major:-0}" -ge 17 ] || die "elasticsearch $ES_VERSION needs Java 17+ (found '${java_major:-none}'): apt-get install openjdk-17-jre-headless"
  if is_root && ! id -u "$ES_USER" >/dev/null 2>&1; then
    log "elasticsearch: creating system user '$ES_USER' (ES refuses to run as root)"
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$ES_USER"
  fi
  local zip
  zip="$(es_zip)"
  if [ ! -s "$zip" ]; then
    command -v mvn >/dev/null || die "mvn is missing (needed to fetch Elasticsearch from Maven Central): apt-get install maven"
    log "elasticsearch: downloading $ES_VERSION from Maven Central (~110 MB, once)"
    mkdir -p "$(dirname "$zip")"
    # A private local repository keeps everything under the cache dir; the zip's copy in it is
    # dropped afterwards so the 100+ MB are stored once.
    mvn -B -q -C dependency:copy -Dmaven.repo.local="$CACHE/m2" \
      -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
      -DoutputDirectory="$(dirname "$zip")" -Dmdep.overWriteIfNewer=true \
      >"$LOG_DIR/mvn-elasticsearch.log" 2>&1 ||
      { tail -n 30 "$LOG_DIR/mvn-elasticsearch.log" >&2; die "maven could not fetch elasticsearch $ES_VERSION"; }
    [ -s "$zip" ] || die "maven finished but $zip is missing"
    rm -rf "$CACHE/m2/org/elasticsearch/distribution"
  fi
  local root home
  root="$(es_root)"
  home="$root/elasticsearch-$ES_VERSION"
  if [ ! -x "$home/bin/elasticsearch" ]; then
    log "elasticsearch: unpacking into $home"
    mkdir -p "$root"
    rm -rf "$root/.unpack"
    unzip -q "$zip" -d "$root/.unpack"
    mv "$root/.unpack/elasticsearch-$ES_VERSION" "$home"
    rm -rf "$root/.unpack"
  fi
  es_install_local_plugin "$home"
  mkdir -p "$root/data" "$root/logs"
  if is_root; then chown -R "$ES_USER:" "$root"; fi
}

# Build (javac against the distribution's own jars, cached by source hash) and install the
# `elysia-local` plugin: analysis-common's Portuguese/English analyzers + GET /, which the
# integ-test zip lacks (see es-plugin/src/.../ElysiaLocalPlugin.java). ELYSIA_ES_LOCAL_PLUGIN=0
# leaves the bare zip.
es_install_local_plugin() {
  local home="$1" src="$INFRA_DIR/es-plugin" dest="$1/plugins/elysia-local" hash jar
  if [ "${ELYSIA_ES_LOCAL_PLUGIN:-1}" = 0 ]; then
    rm -rf "$dest"
    return 0
  fi
  hash="$(cat "$src"/src/dev/elysia/es/*.java "$src/plugin-descriptor.properties.in" | sha1sum | cut -c1-12)"
  jar="$CACHE/elasticsearch/elysia-local-$ES_VERSION-$hash.jar"
  if [ ! -s "$jar" ]; then
    command -v javac >/dev/null || die "javac is missing (needed to build the elysia-local ES plugin): apt-get install openjdk-17-jdk-headless, or ELYSIA_ES_LOCAL_PLUGIN=0"
    log "elasticsearch: building the elysia-local plugin"
    local tmp
    tmp="$(mktemp -d)"
    javac -proc:none -nowarn --release 17 -d "$tmp" -cp "$home/lib/*" "$src"/src/dev/elysia/es/*.java ||
      { rm -rf "$tmp"; die "could not compile $src"; }
    jar --create --file "$jar.tmp" -C "$tmp" . && mv "$jar.tmp" "$jar"
    rm -rf "$tmp"
  fi
  if [ ! -f "$dest/.hash" ] || [ "$(cat "$dest/.hash")" != "$hash" ]; then
    rm -rf "$dest"
    mkdir -p "$dest"
    cp "$jar" "$dest/elysia-local.jar"
    sed "s/@ES_VERSION@/$ES_VERSION/g" "$src/plugin-descriptor.properties.in" >"$dest/plugin-descriptor.properties"
    echo "$hash" >"$dest/.hash"
  fi
}

es_health() { probe elasticsearch "$ES_PORT"; }

es_pid() { read_pid elasticsearch; }

es_start() {
  local root home java_home
  root="$(es_root)"
  home="$root/elasticsearch-$ES_VERSION"
  java_home="$(es_java_home)"
  local logfile="$LOG_DIR/elasticsearch.log"
  : >>"$logfile"
  rm -f "$(pid_file elasticsearch)"
  # ES writes its own PID file; it must be writable by the ES user, so it lives in $root and the
  # run/ file is a copy made once the daemon is up.
  rm -f "$root/es.pid"
  local -a as_user=()
  if is_root; then as_user=(runuser -u "$ES_USER" --); fi
  # -d: the launcher forks the server JVM, waits until it has started, then exits.
  (
    cd "$root"
    exec "${as_user[@]}" env ES_JAVA_HOME="$java_home" ES_PATH_CONF="$home/config" \
      ES_JAVA_OPTS="${ELYSIA_ES_JAVA_OPTS:--Xms512m -Xmx512m}" \
      "$home/bin/elasticsearch" -d -p "$root/es.pid" \
      -E discovery.type=single-node -E network.host=127.0.0.1 -E http.port="$ES_PORT" \
      -E xpack.security.enabled=false -E cluster.routing.allocation.disk.threshold_enabled=false \
      -E path.data="$root/data" -E path.logs="$root/logs" -E cluster.name=elysia-local \
      </dev/null >>"$logfile" 2>&1 9>&-
  ) || {
    log "elasticsearch: launcher failed; last lines of $logfile and $root/logs/elysia-local.log:"
    tail -n 30 "$logfile" >&2
    tail -n 30 "$root/logs/elysia-local.log" >&2 2>/dev/null || true
    die "elasticsearch did not start"
  }
  [ -s "$root/es.pid" ] || die "elasticsearch launcher exited without writing $root/es.pid"
  local es_pid
  es_pid="$(tr -dc '0-9' <"$root/es.pid")"
  echo "$es_pid" >"$(pid_file elasticsearch)"
  wait_ready elasticsearch "$READY_TIMEOUT" "$root/logs/elysia-local.log" es_pid es_health
}

# ---------------------------------------------------------------------------------------------
# S3 (moto's server from the project venv)

s3_install() { require_venv_bin moto_server; }

s3_start() {
  mkdir -p "$STATE/s3"
  spawn "$(pid_file s3)" "$LOG_DIR/s3.log" "$STATE/s3" \
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT"
  wait_ready s3 60 "$LOG_DIR/s3.log" "read_pid s3" \
    probe s3 "$S3_PORT" "$S3_BUCKET" "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY"
  if [ -f "$STATE/s3/snapshot/manifest.json" ]; then
    probe s3-load "$S3_PORT" "$STATE/s3/snapshot" || die "s3: could not restore $STATE/s3/snapshot"
    # The live server now holds this state; a stale snapshot must not resurrect it after a crash.
    rm -rf "$STATE/s3/snapshot"
    log "s3: restored the objects saved by the last stop"
  fi
}

# Before stopping, keep the data a real server would keep: Redis runs with `--save ""` (no
# background snapshots) so SAVE writes dump.rdb once, which the next start loads; moto keeps
# objects in memory only, so they are copied to .elysia/s3/snapshot. ELYSIA_INFRA_KEEP_DATA=0
# skips this (a crash-like stop).
before_stop() {
  [ "${ELYSIA_INFRA_KEEP_DATA:-1}" = 1 ] || return 0
  case "$1" in
    redis)
      redis-cli -h 127.0.0.1 -p "$REDIS_PORT" save >/dev/null 2>&1 ||
        log "redis: SAVE failed; its data will not survive this stop"
      ;;
    s3)
      probe s3-dump "$S3_PORT" "$STATE/s3/snapshot" ||
        log "s3: could not save the objects; they will not survive this stop"
      ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# Generic start / stop of one service

start_service() {
  local s="$1" t0 pid port
  t0="$(now_ms)"
  if [ "$s" = kube ]; then
    if [ -f "$INFRA_DIR/kube.sh" ]; then
      bash "$INFRA_DIR/kube.sh" start 9>&-
      log "kube: up ($(elapsed "$t0"))"
    else
      log "kube: scripts/infra/kube.sh is absent; not starting a Kubernetes API server"
    fi
    return 0
  fi
  port="$(service_port "$s")"
  pid="$(our_pid "$s")"
  if pid_alive "$pid" && port_open "$port"; then
    log "$s: already running (pid $pid, 127.0.0.1:$port)"
    return 0
  fi
  if ! pid_alive "$pid" && port_open "$port"; then
    # Something we did not start holds the port. We cannot stop it (not ours) and cannot bind
    # beside it; reuse it if it speaks the protocol, otherwise fail loudly.
    if check_service "$s"; then
      log "$s: WARNING: 127.0.0.1:$port is served by a process NOT started by scripts/infra/up; reusing it (down/stop will not touch it)"
      return 0
    fi
    die "$s: port $port is taken by a process not started by scripts/infra/up and it does not answer as $s"
  fi
  case "$s" in
    redis) redis_install ;;
    mongodb) mongodb_install ;;
    elasticsearch) es_install ;;
    s3) s3_install ;;
  esac
  if pid_alive "$pid"; then
    log "$s: pid $pid is alive but port $port is not answering yet; waiting"
    local logfile="$LOG_DIR/$s.log"
    [ "$s" = elasticsearch ] && logfile="$(es_root)/logs/elysia-local.log"
    wait_ready "$s" "$READY_TIMEOUT" "$logfile" "our_pid $s" check_service
  else
    rm -f "$(pid_file "$s")"
    case "$s" in
      redis) redis_start ;;
      mongodb) mongodb_start ;;
      elasticsearch) es_start ;;
      s3) s3_start ;;
    esac
  fi
  log "$s: ready on 127.0.0.1:$port (pid $(read_pid "$s"), $(elapsed "$t0"))"
}

check_service() {
  case "$1" in
    redis) redis_ping ;;
    mongodb) probe mongodb "$MONGODB_PORT" ;;
    elasticsearch) es_health ;;
    s3) probe s3 "$S3_PORT" "" "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY" ;;
  esac
}

stop_service() {
  local s="$1" t0 pid port
  t0="$(now_ms)"
  if [ "$s" = kube ]; then
    if [ -f "$INFRA_DIR/kube.sh" ]; then
      bash "$INFRA_DIR/kube.sh" stop 9>&-
      log "kube: stopped ($(elapsed "$t0"))"
    else
      log "kube: scripts/infra/kube.sh is absent; nothing to stop"
    fi
    return 0
  fi
  port="$(service_port "$s")"
  pid="$(our_pid "$s")"
  if ! pid_alive "$pid"; then
    rm -f "$(pid_file "$s")"
    if port_open "$port"; then
      log "$s: WARNING: not started by scripts/infra/up, yet 127.0.0.1:$port answers; leaving that process alone"
      return 3
    fi
    log "$s: not running"
    return 0
  fi
  if port_open "$port"; then before_stop "$s"; fi
  stop_tree "$s" "$pid" "${ELYSIA_INFRA_STOP_TIMEOUT:-30}"
  rm -f "$(pid_file "$s")"
  local deadline=$((SECONDS + 10))
  while port_open "$port" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  port_open "$port" && die "$s: stopped pid $pid but port $port still answers"
  log "$s: stopped (pid $pid, $(elapsed "$t0"))"
}

# ---------------------------------------------------------------------------------------------
# .elysia/infra.env: the addresses, in the names of services/core/config.py (prefix ELYSIA_).

# kube is "up" when kube.sh wrote .elysia/kubeconfig and the API server it names answers.
kube_answering() {
  local server port
  [ -s "$STATE/kubeconfig" ] || return 1
  server="$(sed -n 's/^ *server: *//p' "$STATE/kubeconfig" | head -1)"
  port="$(printf '%s' "$server" | sed -n 's#^[a-z]*://[^:/]*:\([0-9]*\).*#\1#p')"
  [ -n "$port" ] && port_open "$port"
}

write_env() {
  local tmp="$STATE/infra.env.tmp"
  {
    echo "# Written by scripts/infra/up; read by tests/conftest.py and \`set -a; . .elysia/infra.env\`."
    echo "ELYSIA_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
    echo "ELYSIA_MONGODB_URI=mongodb://127.0.0.1:$MONGODB_PORT"
    echo "ELYSIA_ELASTICSEARCH_URL=http://127.0.0.1:$ES_PORT"
    echo "ELYSIA_S3_ENDPOINT_URL=http://127.0.0.1:$S3_PORT"
    echo "ELYSIA_S3_BUCKET=$S3_BUCKET"
    echo "ELYSIA_S3_REGION=us-east-1"
    echo "ELYSIA_S3_ACCESS_KEY_ID=$S3_ACCESS_KEY_ID"
    echo "ELYSIA_S3_SECRET_ACCESS_KEY=$S3_SECRET_ACCESS_KEY"
    if kube_answering; then echo "ELYSIA_KUBECONFIG=$STATE/kubeconfig"; fi
  } >"$tmp"
  mv "$tmp" "$STATE/infra.env"
}
