#!/usr/bin/env bash
# Compares rampart, nginx and HAProxy as reverse proxies in front of one nginx origin on
# loopback: wrk throughput/latency per scenario, peak RSS, and RSS per idle keep-alive connection;
# then (tls.sh) TLS handshakes, HTTPS, HTTP/2 and h2c, and memory per idle TLS connection.
# Usage: bench/run.sh [PATH_TO_RAMPART]   (knobs: BENCH_* variables, see bench/README.md)
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
RAMPART=${1:-}
[[ -n $RAMPART && $RAMPART != /* ]] && RAMPART=$PWD/$RAMPART

SECTIONS=${BENCH_SECTIONS:-"http tls"} # http: plain HTTP/1.1 (below); tls: tls.sh; lb: lb.sh
if [[ -n ${BENCH_QUICK:-} ]]; then # a look in about four minutes rather than nine
    : "${BENCH_SECONDS:=5}" "${BENCH_ROUNDS:=1}" "${BENCH_TLS_SECONDS:=3}"
fi
DURATION=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-2}
WORKERS=${BENCH_WORKERS:-1}
CONNS=${BENCH_CONNS:-50}
THREADS=${BENCH_THREADS:-1}
WARMUP=${BENCH_WARMUP:-1}
IDLE_CONNS=${BENCH_IDLE_CONNS:-10000}
SCENARIOS=${BENCH_SCENARIOS:-"ka-128B ka-16KiB ka-1MiB close-128B"}
PROXIES=${BENCH_PROXIES:-"nginx haproxy rampart"}
RAMPART_MODE=${BENCH_RAMPART_MODE:-auto} # auto | config | cli
OUT_MD=${BENCH_OUT:-$HERE/results-latest.md}
NGINX=${NGINX:-/usr/sbin/nginx}
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
WRK=${WRK:-/usr/bin/wrk}
PY=${PY:-/usr/bin/python3}
# BENCH_PIN=1: the load generator on CPU 0, the origin and the proxy on the other CPUs, so that
# the scheduler's choices between three busy processes on a small machine do not decide the
# ratios. Off by default (the recorded runs say which they used).
PIN_CLIENT=() PIN_SERVER=()
if [[ -n ${BENCH_PIN:-} ]] && command -v taskset >/dev/null && (($(nproc) >= 2)); then
    PIN_CLIENT=(taskset -c 0) PIN_SERVER=(taskset -c "1-$(($(nproc) - 1))")
fi

for tool in "$NGINX" "$HAPROXY" "$WRK" "$PY" curl; do
    command -v "$tool" >/dev/null || { echo "bench: $tool not found" >&2; exit 2; }
done

# 10,000 idle client sockets plus the proxies' own. Root may raise the hard limit; in a container
# without CAP_SYS_RESOURCE the hard limit stays, and the proxies are told what it is (@NOFILE@).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
if (($(ulimit -n) < IDLE_CONNS + 100)); then
    echo "bench: open-file limit $(ulimit -n) is below $IDLE_CONNS idle connections" >&2
fi

TMP=$(mktemp -d /tmp/rampart-bench.XXXXXX)
RAW=$TMP/raw.tsv
PIDS=()

# Stops one process we started: TERM, a bounded wait, then KILL for it and its children
# (an nginx master killed hard would leave its workers behind).
stop_pid() {
    local pid=$1 kids i k
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kids=$(pgrep -P "$pid" || true)
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        for k in $kids; do kill -KILL "$k" 2>/dev/null; done
    fi
    wait "$pid" 2>/dev/null
    return 0
}

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    PIDS=()
    exec 7>&- 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT TERM

forget_pid() {
    local keep=() p
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# TLS section settings (tls.sh sets them; render needs them defined before).
TLS=
H2C_PORT=0
CERT='' KEY='' PEM='' TLS12_CIPHERS='' TLS13_SUITES='' CURVES=''

# render TEMPLATE OUT DIR PORT: fills the @NAME@ placeholders of a config template.
render() {
    sed -e "s|@DIR@|$3|g" -e "s|@PORT@|$4|g" -e "s|@ORIGIN_PORT@|$ORIGIN_PORT|g" \
        -e "s|@WORKERS@|$WORKERS|g" -e "s|@NOFILE@|$NOFILE|g" -e "s|@H2C_PORT@|$H2C_PORT|g" \
        -e "s|@CERT@|$CERT|g" -e "s|@KEY@|$KEY|g" -e "s|@PEM@|$PEM|g" \
        -e "s|@TLS12_CIPHERS@|$TLS12_CIPHERS|g" -e "s|@TLS13_SUITES@|$TLS13_SUITES|g" \
        -e "s|@CURVES@|$CURVES|g" "$1" >"$2"
}

# CPU time (utime + stime, clock ticks) of a process and its direct children.
cpu_ticks() {
    local pid=$1 p total=0 v
    for p in "$pid" $(pgrep -P "$pid" || true); do
        # the fields after the ")" that closes the command name: utime is the 12th, stime 13th
        v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }')
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

# Sum of Pss (kB) from /proc/PID/smaps_rollup over a process and its direct children: shared
# pages are split between the processes that map them, so nginx's master and worker are fair.
pss_kb() {
    local pid=$1 p total=0 v
    for p in "$pid" $(pgrep -P "$pid" || true); do
        v=$(awk '$1 == "Pss:" { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

# Sum of one /proc status field (VmHWM, VmRSS; kB) over a process and its direct children.
mem_kb() {
    local field=$1 pid=$2 p total=0 v
    for p in "$pid" $(pgrep -P "$pid" || true); do
        v=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

# ready PORT PID PATH SIZE: waits (5 s at most) until PATH answers 200 with SIZE bytes (over
# HTTPS/1.1 when $TLS is set: h2 is the business of the h2 scenarios).
ready() {
    local port=$1 pid=$2 path=$3 size=$4 i got url=http://127.0.0.1:$1$3 opts=()
    [[ -n $TLS ]] && url=https://127.0.0.1:$port$path opts=(-k --http1.1)
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        got=$(curl -s "${opts[@]}" -o /dev/null -w '%{http_code} %{size_download}' \
            --max-time 2 "$url" 2>/dev/null) || got=
        [[ $got == "200 $size" ]] && return 0
        sleep 0.1
    done
    return 1
}

# ---- origin ------------------------------------------------------------------------------
ORIGIN_PORT=$(free_port)
ODIR=$TMP/origin
mkdir -p "$ODIR/www" "$ODIR/tmp"
head -c 128 /dev/urandom >"$ODIR/www/128.bin"
head -c 16384 /dev/urandom >"$ODIR/www/16k.bin"
head -c 1048576 /dev/urandom >"$ODIR/www/1m.bin"
render "$HERE/origin.conf.in" "$ODIR/nginx.conf" "$ODIR" "$ORIGIN_PORT"
"${PIN_SERVER[@]}" "$NGINX" -p "$ODIR" -c "$ODIR/nginx.conf" -e "$ODIR/origin-error.log" &
ORIGIN_PID=$!
PIDS+=("$ORIGIN_PID")
if ! ready "$ORIGIN_PORT" "$ORIGIN_PID" /1m.bin 1048576; then
    echo "bench: origin nginx did not start:" >&2
    cat "$ODIR/origin-error.log" >&2
    exit 1
fi

# ---- proxies -----------------------------------------------------------------------------
RAMPART_OK_MODE=
RAMPART_DEAD=
RAMPART_TLS_DEAD=
START_FAIL=
PROXY_PID=
PROXY_LOG=

launch() { # launch NAME DIR PORT MODE: starts one proxy in the background, sets PROXY_PID
    local name=$1 dir=$2 port=$3 mode=$4 t=${TLS:+-tls}
    PROXY_LOG=$dir/stderr.log
    case $name in
    nginx)
        render "$HERE/nginx$t.conf.in" "$dir/nginx.conf" "$dir" "$port"
        "${PIN_SERVER[@]}" "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/nginx-error.log" \
            2>"$PROXY_LOG" &
        ;;
    haproxy)
        render "$HERE/haproxy$t.cfg.in" "$dir/haproxy.cfg" "$dir" "$port"
        "${PIN_SERVER[@]}" "$HAPROXY" -db -f "$dir/haproxy.cfg" >/dev/null 2>"$PROXY_LOG" &
        ;;
    rampart)
        render "$HERE/rampart$t.yaml.in" "$dir/rampart.yaml" "$dir" "$port"
        case $mode in
        config) "${PIN_SERVER[@]}" "$RAMPART" -c "$dir/rampart.yaml" >/dev/null 2>"$PROXY_LOG" & ;;
        *) # the access log goes to stdout when there is no switch to turn it off
            "${PIN_SERVER[@]}" "$RAMPART" --listen "127.0.0.1:$port" --to "127.0.0.1:$ORIGIN_PORT" \
                --workers "$WORKERS" >/dev/null 2>"$PROXY_LOG" &
            ;;
        esac
        ;;
    esac
    PROXY_PID=$!
    PIDS+=("$PROXY_PID")
}

# start_proxy NAME PORT PATH SIZE: a fresh proxy answering PATH correctly, or return 1.
start_proxy() {
    local name=$1 port=$2 path=$3 size=$4 dir=$TMP/$1-$2 modes mode
    START_FAIL="failed to start"
    mkdir -p "$dir/tmp"
    modes=(plain)
    if [[ $name == rampart ]]; then
        if [[ -z $RAMPART || ! -x $RAMPART ]]; then
            START_FAIL="no binary"
            return 1
        fi
        if [[ -n $TLS ]]; then # TLS and h2 exist in the config file only
            [[ -z $RAMPART_TLS_DEAD ]] || { START_FAIL="n/a (refused)"; return 1; }
            modes=(config)
        elif [[ -n $RAMPART_DEAD ]]; then
            return 1
        elif [[ -n $RAMPART_OK_MODE ]]; then
            modes=("$RAMPART_OK_MODE")
        elif [[ $RAMPART_MODE == auto ]]; then
            modes=(config cli)
        else
            modes=("$RAMPART_MODE")
        fi
    fi
    for mode in "${modes[@]}"; do
        launch "$name" "$dir" "$port" "$mode"
        if ready "$port" "$PROXY_PID" "$path" "$size"; then
            [[ $name == rampart && -z $TLS ]] && RAMPART_OK_MODE=$mode
            return 0
        fi
        if ! kill -0 "$PROXY_PID" 2>/dev/null; then
            wait "$PROXY_PID"
            echo "bench: $name ($mode) exited with status $?" >&2
        else
            echo "bench: $name ($mode) did not answer $path correctly within 5 s" >&2
        fi
        stop_pid "$PROXY_PID"
        forget_pid "$PROXY_PID"
    done
    echo "bench: $name failed to start; its stderr:" >&2
    tail -n 5 "$PROXY_LOG" >&2 2>/dev/null
    # A binary that never came up once is not retried in every cell.
    if [[ $name == rampart && -n $TLS ]]; then
        RAMPART_TLS_DEAD=1
        START_FAIL="n/a (refused)"
    elif [[ $name == rampart && -z $RAMPART_OK_MODE ]]; then
        RAMPART_DEAD=1
    fi
    return 1
}

stop_proxy() {
    stop_pid "$PROXY_PID"
    forget_pid "$PROXY_PID"
}

scenario() { # sets PATH_ SIZE_ HDR_ for a scenario name
    HDR_=()
    case $1 in
    ka-128B) PATH_=/128.bin SIZE_=128 ;;
    ka-16KiB) PATH_=/16k.bin SIZE_=16384 ;;
    ka-1MiB) PATH_=/1m.bin SIZE_=1048576 ;;
    close-128B) PATH_=/128.bin SIZE_=128 HDR_=(-H "Connection: close") ;;
    *)
        echo "bench: unknown scenario $1" >&2
        exit 2
        ;;
    esac
}

# run_wrk PORT SECONDS OUTFILE (in the background, so a signal is handled at once). Over TLS
# (tls.sh sets SCHEME=https) the client's suite and group come from CLIENT_CONF.
SCHEME=http
CLIENT_CONF=
run_wrk() {
    local w
    "${PIN_CLIENT[@]}" env ${CLIENT_CONF:+OPENSSL_CONF=$CLIENT_CONF} timeout $(($2 + 20)) "$WRK" -t "$THREADS" \
        -c "$CONNS" -d "${2}s" --timeout 5s --latency "${HDR_[@]}" \
        "$SCHEME://127.0.0.1:$1$PATH_" >"$3" 2>&1 &
    w=$!
    PIDS+=("$w")
    wait "$w"
    forget_pid "$w"
}

note() { printf 'note\t%s\n' "$*" >>"$RAW"; }

note "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -sr), $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
[[ " $SECTIONS " != *" http "* ]] || note "wrk -t$THREADS -c$CONNS -d${DURATION}s (+${WARMUP}s warm-up), $ROUNDS rounds, proxies with $WORKERS worker(s)/thread(s); origin nginx with 1 worker"
note "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
note "$($NGINX -v 2>&1 | sed 's/^nginx version: //'), $($HAPROXY -v | head -n 1 | awk '{ print "HAProxy " $3 }'), rampart: ${RAMPART:-none}"

# ---- throughput rounds: proxies in rotating order, a fresh proxy per cell ----------------
read -r -a PLIST <<<"$PROXIES"
read -r -a SLIST <<<"$SCENARIOS"
[[ " $SECTIONS " == *" http "* ]] || SLIST=() IDLE_CONNS=0
((${#SLIST[@]} == 0)) || echo "bench: origin on 127.0.0.1:$ORIGIN_PORT; $ROUNDS round(s) x ${#SLIST[@]} scenario(s) x ${#PLIST[@]} prox(ies), ${DURATION}s each"
cell=0
for ((round = 1; round <= ROUNDS; round++)); do
    for scen in "${SLIST[@]}"; do
        scenario "$scen"
        n=${#PLIST[@]}
        for ((k = 0; k < n; k++)); do
            proxy=${PLIST[$(((k + cell) % n))]}
            port=$(free_port)
            if ! start_proxy "$proxy" "$port" "$PATH_" "$SIZE_"; then
                printf 'run\t%s\t%s\t%s\t%s\t-\t-\t-\t-\t-\n' \
                    "$round" "$scen" "$proxy" "$START_FAIL" >>"$RAW"
                continue
            fi
            out=$TMP/wrk-$round-$scen-$proxy.txt
            ((WARMUP > 0)) && run_wrk "$port" "$WARMUP" "$out.warm"
            run_wrk "$port" "$DURATION" "$out"
            rss=$(mem_kb VmHWM "$PROXY_PID")
            status=ok
            kill -0 "$PROXY_PID" 2>/dev/null || status=crashed
            read -r rps p50 p99 errs _ < <("$PY" "$HERE/report.py" wrk "$out")
            [[ $rps == - && $status == ok ]] && status="wrk failed"
            printf 'run\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$scen" "$proxy" \
                "$status" "$rps" "$p50" "$p99" "$rss" "$errs" >>"$RAW"
            printf 'bench: round %d %-10s %-7s %-8s req/s %-10s p50 %-7s p99 %-7s ms, peak RSS %s kB, errors %s\n' \
                "$round" "$scen" "$proxy" "$status" "$rps" "$p50" "$p99" "$rss" "$errs"
            stop_proxy
        done
        cell=$((cell + 1))
    done
done

# ---- idle keep-alive connections ---------------------------------------------------------
# Each connection has sent one request and read its response, then stays open and idle; the
# proxy's RSS before and after tells what one such connection costs in user space.
# idle_measure PORT COUNT [--tls]: against the running proxy $PROXY_PID; sets IDLE_STATUS,
# IDLE_BASE/IDLE_LOADED (RSS kB), IDLE_PBASE/IDLE_PLOADED (PSS kB), IDLE_READY, IDLE_ALIVE.
idle_measure() {
    local port=$1 count=$2 tag=idle-$PROXY_PID fifo ipid i
    IDLE_BASE=$(mem_kb VmRSS "$PROXY_PID") IDLE_PBASE=$(pss_kb "$PROXY_PID")
    fifo=$TMP/$tag.fifo
    mkfifo "$fifo"
    env ${CLIENT_CONF:+OPENSSL_CONF=$CLIENT_CONF} timeout 180 "$PY" "$HERE/idle_conns.py" \
        ${3:-} 127.0.0.1 "$port" "$count" /128.bin 150 <"$fifo" >"$TMP/$tag.out" 2>"$TMP/$tag.err" &
    ipid=$!
    PIDS+=("$ipid")
    exec 7>"$fifo"
    for ((i = 0; i < 1500; i++)); do # 150 s at most
        grep -q '^ready' "$TMP/$tag.out" 2>/dev/null && break
        kill -0 "$ipid" 2>/dev/null || break
        sleep 0.1
    done
    sleep 3 # idle means idle: let each proxy settle after the burst of requests
    IDLE_LOADED=$(mem_kb VmRSS "$PROXY_PID") IDLE_PLOADED=$(pss_kb "$PROXY_PID")
    echo go >&7
    exec 7>&-
    wait "$ipid" 2>/dev/null
    forget_pid "$ipid"
    IDLE_READY=$(awk '/^ready/ { print $2 }' "$TMP/$tag.out")
    IDLE_ALIVE=$(awk '/^alive/ { print $2 }' "$TMP/$tag.out")
    IDLE_STATUS=ok
    kill -0 "$PROXY_PID" 2>/dev/null || IDLE_STATUS=crashed
    [[ -n $IDLE_READY ]] || IDLE_STATUS="client failed"
    [[ $IDLE_STATUS == ok ]] || sed 's/^/bench: idle client: /' "$TMP/$tag.err" >&2
    IDLE_READY=${IDLE_READY:-0} IDLE_ALIVE=${IDLE_ALIVE:-0}
}

if ((IDLE_CONNS > 0)); then
    for proxy in "${PLIST[@]}"; do
        port=$(free_port)
        if ! start_proxy "$proxy" "$port" /128.bin 128; then
            printf 'idle\t%s\t%s\t0\t0\t0\t0\n' "$proxy" "$START_FAIL" >>"$RAW"
            continue
        fi
        sleep 0.5
        idle_measure "$port" "$IDLE_CONNS"
        printf 'idle\t%s\t%s\t%s\t%s\t%s\t%s\n' "$proxy" "$IDLE_STATUS" "$IDLE_BASE" \
            "$IDLE_LOADED" "$IDLE_READY" "$IDLE_ALIVE" >>"$RAW"
        echo "bench: idle $proxy $IDLE_STATUS: RSS ${IDLE_BASE} kB -> ${IDLE_LOADED} kB with $IDLE_READY connections ($IDLE_ALIVE still open after)"
        stop_proxy
    done
fi

if [[ " $SECTIONS " == *" tls "* ]]; then
    source "$HERE/tls.sh"
    tls_section
fi

if [[ " $SECTIONS " == *" lb "* ]]; then
    source "$HERE/lb.sh"
    lb_section
fi

note "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
case $RAMPART_OK_MODE in
config) note "rampart started as: rampart -c rampart.yaml (bench/rampart.yaml.in)" ;;
cli) note "rampart started as: rampart --listen ... --to ... --workers $WORKERS >/dev/null" ;;
esac
echo
"$PY" "$HERE/report.py" table "$RAW" "$OUT_MD" "Bench results (latest run)"
echo
echo "bench: markdown written to $OUT_MD"
