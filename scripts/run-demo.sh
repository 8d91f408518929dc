#!/usr/bin/env bash
# The quickstart behind `make run`: starts two demo backends (ports 9001, 9002), then rampart on
# examples/quickstart.yaml in the foreground. Ctrl-C stops rampart, and the EXIT trap stops the
# backends this script started (by PID, nothing else). Works from any current directory.
set -euo pipefail

usage() {
    echo "usage: $0 RAMPART_BINARY" >&2
    echo "  e.g. $0 build/rampart   (what \`make run\` does)" >&2
}

if [ $# -ne 1 ]; then
    usage
    exit 2
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$1"
case "$BIN" in
/*) ;;
*) BIN="$PWD/$BIN" ;; # relative to where the user ran us, like any command argument
esac
PY="${PY:-/usr/bin/python3}"
CONFIG="$ROOT/examples/quickstart.yaml"
BACKEND="$ROOT/examples/demo_backend.py"
PROXY_PORT=8080
BACKEND_PORTS=(9001 9002)
BACKEND_NAMES=(a b)

if [ ! -x "$BIN" ]; then
    echo "run-demo: '$1' is not an executable file; build it first (make build)." >&2
    exit 1
fi
if [ ! -x "$PY" ]; then
    echo "run-demo: $PY not found; set PY=/path/to/python3." >&2
    exit 1
fi

# A port is busy when something accepts a connection on it. bash's /dev/tcp needs no extra tool.
port_answers() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

busy=0
for port in "$PROXY_PORT" "${BACKEND_PORTS[@]}"; do
    if port_answers "$port"; then
        echo "run-demo: port $port on 127.0.0.1 is already in use." >&2
        busy=1
    fi
done
if [ "$busy" -ne 0 ]; then
    echo "run-demo: the demo needs ports $PROXY_PORT, ${BACKEND_PORTS[0]} and" \
        "${BACKEND_PORTS[1]} free. See who holds them with: ss -ltnp" >&2
    exit 1
fi

PIDS=()
# shellcheck disable=SC2317  # reached through the traps below
cleanup() {
    local pid
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
# Turn signals into a normal exit so the EXIT trap runs once, with the conventional status.
trap 'exit 130' INT
trap 'exit 143' TERM

for i in "${!BACKEND_PORTS[@]}"; do
    "$PY" "$BACKEND" --port "${BACKEND_PORTS[$i]}" --name "${BACKEND_NAMES[$i]}" </dev/null &
    PIDS+=("$!")
done

# Wait (at most about 5 s) until both backends accept connections; stop early if one died.
for i in "${!BACKEND_PORTS[@]}"; do
    port="${BACKEND_PORTS[$i]}"
    pid="${PIDS[$i]}"
    tries=0
    until port_answers "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "run-demo: demo backend on port $port exited; see its message above." >&2
            exit 1
        fi
        tries=$((tries + 1))
        if [ "$tries" -ge 50 ]; then
            echo "run-demo: demo backend on port $port did not start within 5 seconds." >&2
            exit 1
        fi
        sleep 0.1
    done
done

cat <<EOF

  rampart quickstart
  ------------------
  config:    examples/quickstart.yaml
  backends:  demo backend a on 127.0.0.1:${BACKEND_PORTS[0]}, b on 127.0.0.1:${BACKEND_PORTS[1]}

  open:      http://127.0.0.1:$PROXY_PORT/          welcome page (static files)
             http://127.0.0.1:$PROXY_PORT/demo/     proxied, load-balanced over a and b
             http://127.0.0.1:$PROXY_PORT/healthz   answered by rampart itself

  Press Ctrl-C to stop rampart and the demo backends.

EOF

# Foreground, not exec: this shell must outlive rampart so that its EXIT trap stops the backends.
set +e
"$BIN" -c "$CONFIG"
status=$?
set -e
exit "$status"
