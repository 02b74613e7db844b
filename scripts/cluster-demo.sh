#!/usr/bin/env bash
# A Hermod cluster on one machine, without docker-compose: a private nats-server with JetStream and three
# Hermod nodes (separate processes, each with its own ports, data dir and log), joined as cluster "demo".
#
#   scripts/cluster-demo.sh [start]     start everything in the foreground; Ctrl-C stops it all
#   scripts/cluster-demo.sh stop        stop a demo started in another terminal
#   scripts/cluster-demo.sh status      which processes of the demo are running
#   scripts/cluster-demo.sh kill <n>    kill -9 node n (1-3), to watch the others carry on
#   scripts/cluster-demo.sh restart <n> start node n again (after kill)
#
# Node n (1..3) listens on MQTT 1882+n, MQTT over WebSocket 8082+n (/mqtt) and the API and dashboard
# 18082+n, all on 127.0.0.1. Settings (environment): HERMOD_DEMO_DIR (state and logs, default
# .tmp/cluster-demo), HERMOD_DEMO_MQTT_PORT (first MQTT port, 1883), HERMOD_DEMO_WS_PORT (8083),
# HERMOD_DEMO_API_PORT (18083), HERMOD_DEMO_NATS_PORT (default: the first free port from 14222).
# Installs Debian's nats-server when it is missing (apt-get; root or sudo).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${HERMOD_DEMO_DIR:-$ROOT/.tmp/cluster-demo}
MQTT_PORT=${HERMOD_DEMO_MQTT_PORT:-1883}
WS_PORT=${HERMOD_DEMO_WS_PORT:-8083}
API_PORT=${HERMOD_DEMO_API_PORT:-18083}
NODES=3
CLUSTER=demo
# The ports a running demo was started with (for stop, status, kill and restart from another terminal).
if [ "${1:-start}" != start ] && [ -f "$DIR/ports" ]; then
  # shellcheck source=/dev/null
  . "$DIR/ports"
fi

say() { printf '%s\n' "$*"; }
die() {
  printf 'cluster-demo: %s\n' "$*" >&2
  exit 1
}

# Something accepts TCP connections on 127.0.0.1:$1.
in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Process $1 runs. A child that exited but is not reaped yet (bash may reap late) is a zombie: gone.
alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ "$state" != Z ]
}

pid_of() { cat "$1" 2>/dev/null || true; }

node_name() { printf 'hermod-%s@127.0.0.1' "$1"; }

nats_bin() {
  if command -v nats-server >/dev/null 2>&1; then
    command -v nats-server
  elif [ -x /usr/sbin/nats-server ]; then
    printf '/usr/sbin/nats-server'
  fi
}

ensure_nats() {
  [ -n "$(nats_bin)" ] && return 0
  say "nats-server is not installed: installing Debian's nats-server (apt-get)"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "install nats-server first (apt-get install nats-server) or run as root"
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server ||
    die "apt-get install nats-server failed"
  [ -n "$(nats_bin)" ] || die "nats-server still not found after installing it"
}

# Waits until $2 (a command) succeeds, for at most $1 seconds.
wait_for() {
  local secs=$1
  shift
  local i
  for ((i = 0; i < secs * 10; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

# The API on port $1 answers GET /api/v5/status with 200 (plain bash: no curl needed).
api_up() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1" &&
      printf 'GET /api/v5/status HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 &&
      IFS= read -r -t 5 line <&3 && [[ "$line" == *" 200"* ]]
  ) 2>/dev/null
}

node_port() { printf '%s' $(($1 + $2 - 1)); }

write_node_config() {
  local n=$1 nats_url=$2 d="$DIR/node-$1"
  mkdir -p "$d/data"
  cat >"$d/hermod.conf" <<EOF
# Node $n of the cluster demo (written by scripts/cluster-demo.sh).
node { name = "$(node_name "$n")", data_dir = "$d/data" }
cluster { name = $CLUSTER, nats.servers = ["$nats_url"] }
# A listener added for the whole cluster with a bare port (a gateway through the API) binds 127.0.0.$n on
# this node, so all three listen on one machine; the listeners below name their address and stay as written.
node.listen_host = "127.0.0.$n"
listeners.tcp.default.bind = "127.0.0.1:$(node_port "$MQTT_PORT" "$n")"
listeners.ws.default.bind = "127.0.0.1:$(node_port "$WS_PORT" "$n")"
dashboard.listeners.http.bind = "127.0.0.1:$(node_port "$API_PORT" "$n")"
log.console.level = warning
log.file.default { path = "$d/hermod.log", level = info }
EOF
}

# Starts node $1 in its own session, so a Ctrl-C in this terminal reaches only this script, which then
# stops the nodes before nats-server.
start_node() {
  local n=$1 d="$DIR/node-$1"
  setsid node "$ROOT/bin/hermod.js" start --config "$d/hermod.conf" >"$d/out.log" 2>&1 </dev/null &
  echo $! >"$d/pid"
  # Not this shell's job: no "Killed" notice when the demo's own kill command ends it.
  disown $!
}

# Waits until node $1 answers on its API. A node restarted right after a kill -9 is refused while the
# cluster still hears its old heartbeat (cluster.node_down_after): it is started again until that passed.
wait_node() {
  local n=$1 api tries=0 i
  api=$(node_port "$API_PORT" "$n")
  for ((i = 0; i < 600; i++)); do
    api_up "$api" && return 0
    if ! alive "$(pid_of "$DIR/node-$n/pid")"; then
      if grep -q 'is already in use by a live node' "$DIR/node-$n/out.log" && ((tries++ < 10)); then
        sleep 1
        start_node "$n"
        continue
      fi
      break
    fi
    sleep 0.1
  done
  tail -n 20 "$DIR/node-$n/out.log" >&2 || true
  die "node $n did not come up (log: $DIR/node-$n/out.log)"
}

stop_pid() {
  local pid=$1 what=$2 i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  say "$what (pid $pid) did not stop within 30 s: killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

stop_all() {
  local n pids=()
  # Nodes first (they leave the cluster through NATS), together; then nats-server.
  for ((n = 1; n <= NODES; n++)); do
    local pid
    pid=$(pid_of "$DIR/node-$n/pid")
    if alive "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do stop_pid "$pid" "node"; done
  stop_pid "$(pid_of "$DIR/nats.pid")" "nats-server"
  rm -f "$DIR"/node-*/pid "$DIR/nats.pid" "$DIR/demo.pid"
  say "cluster demo stopped"
}

cmd_start() {
  local n
  if alive "$(pid_of "$DIR/demo.pid")" || alive "$(pid_of "$DIR/nats.pid")"; then
    die "a demo is already running (state in $DIR): scripts/cluster-demo.sh stop"
  fi
  for ((n = 1; n <= NODES; n++)); do
    for p in "$(node_port "$MQTT_PORT" "$n")" "$(node_port "$WS_PORT" "$n")" "$(node_port "$API_PORT" "$n")"; do
      in_use "$p" && die "port $p is in use; pick other ports, e.g. HERMOD_DEMO_MQTT_PORT=2883 HERMOD_DEMO_WS_PORT=9083 HERMOD_DEMO_API_PORT=28083"
    done
  done
  ensure_nats
  [ -f "$ROOT/dist/src/cli/main.js" ] || (cd "$ROOT" && npm run build)

  local nats_port=${HERMOD_DEMO_NATS_PORT:-}
  if [ -z "$nats_port" ]; then
    nats_port=14222
    while in_use "$nats_port"; do nats_port=$((nats_port + 1)); done
  fi
  local nats_url="nats://127.0.0.1:$nats_port"
  mkdir -p "$DIR/nats"
  echo $$ >"$DIR/demo.pid"
  printf 'MQTT_PORT=%s\nWS_PORT=%s\nAPI_PORT=%s\n' "$MQTT_PORT" "$WS_PORT" "$API_PORT" >"$DIR/ports"
  # From here on, however the script ends (Ctrl-C, stop, a node that does not come up), it stops everything.
  trap 'stop_all' EXIT
  trap 'exit 0' INT TERM
  # The limits the cluster design asks for: long MQTT topics as subjects, payloads above MQTT's default.
  cat >"$DIR/nats.conf" <<EOF
listen: 127.0.0.1:$nats_port
max_payload: 8MB
max_control_line: 32KB
max_pending: 256MB
jetstream { store_dir: "$DIR/nats" }
EOF
  setsid "$(nats_bin)" -c "$DIR/nats.conf" >"$DIR/nats.log" 2>&1 </dev/null &
  echo $! >"$DIR/nats.pid"
  disown $!
  wait_for 20 in_use "$nats_port" || die "nats-server did not start (log: $DIR/nats.log)"

  for ((n = 1; n <= NODES; n++)); do
    write_node_config "$n" "$nats_url"
    start_node "$n"
  done
  for ((n = 1; n <= NODES; n++)); do wait_node "$n"; done

  say ""
  say "Hermod cluster demo is up: cluster \"$CLUSTER\" on NATS $nats_url (JetStream), state and logs in $DIR"
  for ((n = 1; n <= NODES; n++)); do
    say "  node $n  $(node_name "$n")  MQTT 127.0.0.1:$(node_port "$MQTT_PORT" "$n")  WebSocket ws://127.0.0.1:$(node_port "$WS_PORT" "$n")/mqtt  dashboard http://127.0.0.1:$(node_port "$API_PORT" "$n") (admin / public)  pid $(pid_of "$DIR/node-$n/pid")"
  done
  cat <<EOF

Subscribe on node 1 with a persistent session, publish on node 2 (mosquitto-clients):
  mosquitto_sub -h 127.0.0.1 -p $(node_port "$MQTT_PORT" 1) -i demo-sub -c -q 1 -t 'demo/#' -v
  mosquitto_pub -h 127.0.0.1 -p $(node_port "$MQTT_PORT" 2) -q 1 -t demo/hello -m 'hello from node 2'
Kill node 1, then resume the same session on node 3 (messages published meanwhile are waiting there):
  scripts/cluster-demo.sh kill 1
  mosquitto_sub -h 127.0.0.1 -p $(node_port "$MQTT_PORT" 3) -i demo-sub -c -q 1 -t 'demo/#' -v
  scripts/cluster-demo.sh restart 1
Ctrl-C stops everything (or scripts/cluster-demo.sh stop from another terminal).
EOF
  # Sleep in the background so a signal runs the trap at once.
  while true; do
    sleep 1 &
    wait $! || true
  done
}

cmd_stop() {
  local demo
  demo=$(pid_of "$DIR/demo.pid")
  if alive "$demo"; then
    # The foreground script stops everything in order and exits.
    kill -TERM "$demo"
    local i=0
    while alive "$demo" && ((i++ < 600)); do sleep 0.1; done
    alive "$demo" && die "the demo (pid $demo) is still stopping"
    say "cluster demo stopped"
  else
    stop_all
  fi
}

cmd_status() {
  local n pid
  pid=$(pid_of "$DIR/nats.pid")
  if alive "$pid"; then say "nats-server  running  pid $pid"; else say "nats-server  stopped"; fi
  for ((n = 1; n <= NODES; n++)); do
    pid=$(pid_of "$DIR/node-$n/pid")
    if alive "$pid"; then
      say "node $n  $(node_name "$n")  running  pid $pid  MQTT $(node_port "$MQTT_PORT" "$n")  API $(node_port "$API_PORT" "$n")"
    else
      say "node $n  $(node_name "$n")  stopped"
    fi
  done
}

node_arg() {
  [[ "${1:-}" =~ ^[1-3]$ ]] || die "name a node: 1, 2 or 3"
  [ -f "$DIR/node-$1/hermod.conf" ] || die "no demo in $DIR: scripts/cluster-demo.sh start"
}

cmd_kill() {
  node_arg "${1:-}"
  local pid
  pid=$(pid_of "$DIR/node-$1/pid")
  alive "$pid" || die "node $1 is not running"
  kill -KILL "$pid"
  say "node $1 ($(node_name "$1"), pid $pid) killed"
}

cmd_restart() {
  node_arg "${1:-}"
  alive "$(pid_of "$DIR/node-$1/pid")" && die "node $1 is running"
  start_node "$1"
  wait_node "$1"
  say "node $1 ($(node_name "$1")) is up again, pid $(pid_of "$DIR/node-$1/pid")"
}

case "${1:-start}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
kill) cmd_kill "${2:-}" ;;
restart) cmd_restart "${2:-}" ;;
-h | --help | help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' ;;
*) die "unknown command $1 (start, stop, status, kill <n>, restart <n>)" ;;
esac
