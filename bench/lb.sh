# Load-balancing section of bench/run.sh (sourced by it: uses its helpers, PIDS, RAW, TMP):
# requests/s and latency of each proxy and balancer in front of four backends of which one
# answers every request BENCH_LB_DELAY_MS late, plus the balancers' per-pick micro-benchmark.

LB_SECONDS=${BENCH_LB_SECONDS:-$DURATION}
LB_CONNS=${BENCH_LB_CONNS:-64}
LB_DELAY_MS=${BENCH_LB_DELAY_MS:-20} # every response of the slow backend is this late
LB_SLOW=${BENCH_LB_SLOW:-1}          # which backend (1-4) is the slow one
LB_SIZE=${BENCH_LB_SIZE:-128}        # response body bytes
LB_PROXIES=${BENCH_LB_PROXIES:-"nginx-lc haproxy-lc rampart-p2c rampart-rr rampart-lc nginx-p2c haproxy-p2c"}
LB_PICKS=${BENCH_LB_PICKS:-} # lb_pick_bench's picks per cell (empty: its default)
# origin_delay and lb_pick_bench come from the build that made rampart (build/bench/), or from
# this tree's build/ when no rampart is given.
LB_BUILD=$HERE/../build
[[ -n $RAMPART ]] && LB_BUILD=$(dirname "$RAMPART")
ORIGIN_DELAY=${ORIGIN_DELAY:-$LB_BUILD/bench/origin_delay}
LB_PICK_BENCH=${LB_PICK_BENCH:-$LB_BUILD/bench/lb_pick_bench}

# lb_balance PROXY ALG: the balancer line of each proxy for p2c, rr (round robin), lc (least
# connections). nginx and HAProxy call their power-of-two-choices "random two least_conn" and
# "random(2)"; both compare in-flight counts only, no latency.
lb_balance() {
    case $1-$2 in
    nginx-lc) echo "least_conn;" ;;
    nginx-rr) echo "" ;;
    nginx-p2c) echo "random two least_conn;" ;;
    haproxy-lc) echo leastconn ;;
    haproxy-rr) echo roundrobin ;;
    haproxy-p2c) echo "random(2)" ;;
    rampart-lc) echo least_conn ;;
    rampart-rr) echo round_robin ;;
    rampart-p2c) echo p2c ;;
    rampart-random) echo random ;;
    *) return 1 ;;
    esac
}

# lb_start NAME PORT: a fresh proxy NAME (proxy-alg) on PORT answering / correctly, or return 1.
lb_start() {
    local name=$1 port=$2 proxy=${1%%-*} alg=${1#*-} dir=$TMP/lb-$1-$2 bal out tmpl
    START_FAIL="failed to start"
    bal=$(lb_balance "$proxy" "$alg") || {
        START_FAIL="unknown"
        return 1
    }
    mkdir -p "$dir/tmp"
    PROXY_LOG=$dir/stderr.log
    case $proxy in
    nginx) out=$dir/nginx.conf tmpl=nginx-lb.conf.in ;;
    haproxy) out=$dir/haproxy.cfg tmpl=haproxy-lb.cfg.in ;;
    rampart) out=$dir/rampart.yaml tmpl=rampart-lb.yaml.in ;;
    esac
    render "$HERE/$tmpl" "$out" "$dir" "$port"
    sed -i -e "s|@BALANCE@|$bal|g" -e "s|@B1@|${LB_PORTS[0]}|g" -e "s|@B2@|${LB_PORTS[1]}|g" \
        -e "s|@B3@|${LB_PORTS[2]}|g" -e "s|@B4@|${LB_PORTS[3]}|g" "$out"
    case $proxy in
    nginx)
        "${PIN_SERVER[@]}" "$NGINX" -p "$dir" -c "$out" -e "$dir/nginx-error.log" \
            2>"$PROXY_LOG" &
        ;;
    haproxy) "${PIN_SERVER[@]}" "$HAPROXY" -db -f "$out" >/dev/null 2>"$PROXY_LOG" & ;;
    rampart)
        if [[ -z $RAMPART || ! -x $RAMPART ]]; then
            START_FAIL="no binary"
            return 1
        fi
        "${PIN_SERVER[@]}" "$RAMPART" -c "$out" >/dev/null 2>"$PROXY_LOG" &
        ;;
    esac
    PROXY_PID=$!
    PIDS+=("$PROXY_PID")
    ready "$port" "$PROXY_PID" / "$LB_SIZE" && return 0
    echo "bench: lb $name did not start; its stderr:" >&2
    tail -n 5 "$PROXY_LOG" >&2
    stop_proxy
    return 1
}

lb_stats() { # requests served per backend so far: "n1 n2 n3 n4"
    curl -s --max-time 2 "http://127.0.0.1:${LB_PORTS[0]}/_stats"
}

# lb_rampart_state ROUND NAME: rampart's own view at the end of a run (SIGUSR2 logs every
# server's in-flight count and latency estimate): printed, and kept as a note for the markdown.
lb_rampart_state() {
    local i line=
    kill -USR2 "$PROXY_PID" 2>/dev/null || return
    for ((i = 0; i < 20; i++)); do
        (($(grep -c ' latency ' "$PROXY_LOG") >= 4)) && break
        sleep 0.05
    done
    line=$(awk -v p1="${LB_PORTS[0]}" -v p2="${LB_PORTS[1]}" -v p3="${LB_PORTS[2]}" \
        -v p4="${LB_PORTS[3]}" -v slow="$LB_SLOW" '/ latency / {
            port = $0; sub(/.* server [^ ]*:/, "", port); sub(/ .*/, "", port)
            n = (port == p1) ? 1 : (port == p2) ? 2 : (port == p3) ? 3 : (port == p4) ? 4 : 0
            lat = $0; sub(/.*latency /, "", lat); sub(/,.*/, "", lat)
            inf = $0; sub(/.*in flight /, "", inf); sub(/,.*/, "", inf)
            out = out sprintf("%s#%d%s %s (%s in flight)", out ? ", " : "", n,
                              n == slow ? " (slow)" : "", lat, inf) }
        END { print out }' "$PROXY_LOG")
    [[ -n $line ]] || return
    echo "bench: lb round $round $name: rampart's latency estimates at the end: $line"
    note "round $round $name, rampart's latency estimates (SIGUSR2) at the end of the run: $line"
}

# lb_cell ROUND NAME: a fresh proxy, a warm-up, one measured wrk run, one raw line.
lb_cell() {
    local round=$1 name=$2 port out before after share rps p50 p99 errs status
    local CONNS=$LB_CONNS PATH_=/ HDR_=() # read by run_wrk
    port=$(free_port)
    if ! lb_start "$name" "$port"; then
        printf 'lb\t%s\t%s\t%s\t-\t-\t-\t-\t-\n' "$round" "$name" "$START_FAIL" >>"$RAW"
        return
    fi
    out=$TMP/lb-$round-$name.txt
    ((WARMUP > 0)) && run_wrk "$port" "$WARMUP" "$out.warm"
    before=$(lb_stats)
    run_wrk "$port" "$LB_SECONDS" "$out"
    after=$(lb_stats)
    # share of the measured run's requests that went to the slow backend, in percent
    share=$(awk -v b="$before" -v a="$after" -v s="$LB_SLOW" 'BEGIN {
        nb = split(b, B, " "); na = split(a, A, " "); t = 0
        if (nb != 4 || na != 4) { print "-"; exit }
        for (i = 1; i <= 4; i++) t += A[i] - B[i]
        if (t > 0) printf "%.2f", 100 * (A[s] - B[s]) / t; else print "-" }')
    status=ok
    kill -0 "$PROXY_PID" 2>/dev/null || status=crashed
    [[ $status == ok && $name == rampart-* ]] && lb_rampart_state "$round" "$name"
    read -r rps p50 p99 errs _ < <("$PY" "$HERE/report.py" wrk "$out")
    [[ $rps == - && $status == ok ]] && status="wrk failed"
    printf 'lb\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$status" "$rps" "$p50" \
        "$p99" "$errs" "$share" >>"$RAW"
    printf 'bench: lb round %d %-14s %-8s req/s %-9s p50 %-7s p99 %-7s ms, to the slow backend %s %%, errors %s\n' \
        "$round" "$name" "$status" "$rps" "$p50" "$p99" "$share" "$errs"
    stop_proxy
}

lb_section() {
    local round k n cell=0 i origin_pid ports_arg=() p
    if [[ ! -x $ORIGIN_DELAY ]]; then
        echo "bench: lb section skipped: no $ORIGIN_DELAY (ninja -C build builds it)" >&2
        note "load-balancing section skipped: origin_delay not built"
        return
    fi
    LB_PORTS=()
    for i in 1 2 3 4; do
        p=$(free_port)
        LB_PORTS+=("$p")
        if ((i == LB_SLOW)); then ports_arg+=("$p:$LB_DELAY_MS"); else ports_arg+=("$p"); fi
    done
    "${PIN_SERVER[@]}" "$ORIGIN_DELAY" -s "$LB_SIZE" "${ports_arg[@]}" 2>"$TMP/origin_delay.log" &
    origin_pid=$!
    PIDS+=("$origin_pid")
    for ((i = 0; i < 50; i++)); do
        [[ -n $(lb_stats) ]] && break
        sleep 0.1
    done
    if [[ -z $(lb_stats) ]]; then
        echo "bench: origin_delay did not start:" >&2
        cat "$TMP/origin_delay.log" >&2
        return
    fi
    note "lb: four backends (bench/origin_delay, one thread, $LB_SIZE-byte responses), backend $LB_SLOW answers every request ${LB_DELAY_MS} ms late; wrk -t$THREADS -c$LB_CONNS -d${LB_SECONDS}s (+${WARMUP}s warm-up), $ROUNDS rounds, proxies with $WORKERS worker(s)/thread(s)${PIN_CLIENT:+, pinned (BENCH_PIN: wrk on CPU 0, proxy and backends on the rest)}"
    read -r -a LBLIST <<<"$LB_PROXIES"
    echo "bench: lb: backends on ${LB_PORTS[*]} (slow: #$LB_SLOW, ${LB_DELAY_MS} ms); $ROUNDS round(s) x ${#LBLIST[@]} balancers, ${LB_SECONDS}s each"
    for ((round = 1; round <= ROUNDS; round++)); do
        n=${#LBLIST[@]}
        for ((k = 0; k < n; k++)); do
            lb_cell "$round" "${LBLIST[$(((k + cell) % n))]}"
        done
        cell=$((cell + 1))
    done
    stop_pid "$origin_pid"
    forget_pid "$origin_pid"

    if [[ -x $LB_PICK_BENCH ]]; then
        echo "bench: lb: $LB_PICK_BENCH ${LB_PICKS}"
        "$LB_PICK_BENCH" $LB_PICKS >"$TMP/lb_pick.md" 2>&1
        cat "$TMP/lb_pick.md"
        printf 'lbpick\t%s\n' "$TMP/lb_pick.md" >>"$RAW"
    else
        note "lb_pick_bench not found at $LB_PICK_BENCH"
    fi
}
