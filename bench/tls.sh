# TLS and HTTP/2 section of bench/run.sh (sourced by it: uses its helpers, PIDS, RAW, TMP):
# handshakes per second (full and resumed), HTTPS keep-alive, HTTP/2 over TLS and h2c, and the
# memory of idle TLS connections, for each proxy with the same certificate and TLS settings.

TLS_SECONDS=${BENCH_TLS_SECONDS:-3}
TLS_SCENARIOS=${BENCH_TLS_SCENARIOS:-"tls-new tls-resume tls-ka-128B tls-ka-1MiB h2-128B h2c-128B"}
TLS_IDLE_CONNS=${BENCH_TLS_IDLE_CONNS:-${BENCH_IDLE_CONNS:-10000}}
TLS_BURST=${BENCH_TLS_BURST:-1000} # connections per h2load burst in tls-new
H2_CONNS=${BENCH_H2_CONNS:-10}
H2_STREAMS=${BENCH_H2_STREAMS:-100}
H2LOAD=${H2LOAD:-/usr/bin/h2load}
OPENSSL=${OPENSSL:-/usr/bin/openssl}
CLK_TCK=$(getconf CLK_TCK)

# What every client offers: one TLS 1.3 suite and one group, so that the servers' preference
# rules (HAProxy prefers its own order, nginx the client's) cannot pick different ciphers.
CLIENT_SUITE=TLS_AES_128_GCM_SHA256
CLIENT_GROUP=X25519

# tls_setup: one ECDSA P-256 certificate for all three proxies, the server-side cipher settings
# (rampart's documented defaults, written out for nginx and HAProxy), and the client config.
tls_setup() {
    local d=$TMP/tls
    mkdir -p "$d"
    CERT=$d/cert.pem KEY=$d/key.pem PEM=$d/cert-and-key.pem
    "$OPENSSL" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$KEY" -out "$CERT" 2>"$d/req.log" || {
        cat "$d/req.log" >&2
        return 1
    }
    cat "$CERT" "$KEY" >"$PEM"
    TLS12_CIPHERS=ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256
    TLS12_CIPHERS+=:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384
    TLS12_CIPHERS+=:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305
    TLS13_SUITES=TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256
    CURVES=X25519:P-256:P-384
    CLIENT_CONF=$d/client-openssl.cnf # read by wrk and Python (h2load gets flags)
    printf '%s\n' 'openssl_conf = conf' '[conf]' 'ssl_conf = ssl' '[ssl]' \
        'system_default = sys' '[sys]' "Ciphersuites = $CLIENT_SUITE" \
        "Groups = $CLIENT_GROUP" >"$CLIENT_CONF"
    H2LOAD_TLS=(--tls13-ciphers="$CLIENT_SUITE" --groups="$CLIENT_GROUP")
}

tls_scenario() { # sets KIND PATH_ SIZE_ HDR_ for a TLS scenario name
    HDR_=()
    PATH_=/128.bin SIZE_=128
    case $1 in
    tls-new) KIND=new ;;
    tls-resume) KIND=resume ;;
    tls-ka-128B) KIND=wrk ;;
    tls-ka-1MiB) KIND=wrk PATH_=/1m.bin SIZE_=1048576 ;;
    h2-128B) KIND=h2 ;;
    h2c-128B) KIND=h2c ;;
    *)
        echo "bench: unknown TLS scenario $1" >&2
        exit 2
        ;;
    esac
}

run_h2load() { # run_h2load OUTFILE ARGS...: one h2load, bounded, in the background
    local out=$1 h
    shift
    "${PIN_CLIENT[@]}" timeout $((TLS_SECONDS + 30)) "$H2LOAD" -t 1 "$@" >"$out" 2>&1 &
    h=$!
    PIDS+=("$h")
    wait "$h"
    forget_pid "$h"
}

# tls_load KIND PORT OUT SECONDS: one load run of a scenario; the output files are OUT*.
tls_load() {
    local kind=$1 port=$2 out=$3 secs=$4 url=https://127.0.0.1:$2$PATH_ end k=0
    case $kind in
    new) # fresh clients: every connection is a full handshake (h2load keeps no sessions
        # across runs); bursts until the time is up. The server closes, as in tls-resume.
        end=$((SECONDS + secs))
        while ((k == 0 || SECONDS < end)); do
            run_h2load "$out.$k" "${H2LOAD_TLS[@]}" --h1 -n "$TLS_BURST" -c "$TLS_BURST" \
                -H "Connection: close" "$url"
            k=$((k + 1))
        done
        ;;
    resume) # each client reconnects after every response and resumes its session. h2load's
        # -D mode stalls when the server closes, so the count is sized from the last rate.
        run_h2load "$out.0" "${H2LOAD_TLS[@]}" --h1 -c "$CONNS" \
            -n "$(awk -v r="${RESUME_RATE:-1000}" -v s="$secs" -v c="$CONNS" \
                'BEGIN { n = int(r * s); print (n < 2 * c ? 2 * c : n) }')" \
            -H "Connection: close" "$url"
        RESUME_RATE=$(awk '/^finished in/ { print $4 + 0 }' "$out.0")
        ;;
    wrk) run_wrk "$port" "$secs" "$out.0" ;;
    h2) run_h2load "$out.0" "${H2LOAD_TLS[@]}" -c "$H2_CONNS" -m "$H2_STREAMS" -D "$secs" "$url" ;;
    h2c)
        run_h2load "$out.0" -c "$H2_CONNS" -m "$H2_STREAMS" -D "$secs" \
            "http://127.0.0.1:$H2C_PORT$PATH_"
        ;;
    esac
}

# tls_probe PROXY PORT: a note on what a client offering only CLIENT_SUITE/CLIENT_GROUP gets
# (protocol, cipher, ALPN, whether a second connection resumes) and what TLS 1.2 picks.
tls_probe() {
    local proxy=$1 port=$2 d=$TMP/tls/probe-$1 req first second t12 alpn
    mkdir -p "$d"
    req=$'HEAD /128.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
    first=$(printf '%s' "$req" | timeout 5 "$OPENSSL" s_client -connect "127.0.0.1:$port" \
        -servername localhost -ciphersuites "$CLIENT_SUITE" -groups "$CLIENT_GROUP" \
        -alpn h2,http/1.1 -sess_out "$d/sess" -ign_eof 2>/dev/null | tr -d '\000')
    second=$(printf '%s' "$req" | timeout 5 "$OPENSSL" s_client -connect "127.0.0.1:$port" \
        -servername localhost -ciphersuites "$CLIENT_SUITE" -groups "$CLIENT_GROUP" \
        -sess_in "$d/sess" -ign_eof 2>/dev/null)
    t12=$(timeout 5 "$OPENSSL" s_client -connect "127.0.0.1:$port" -servername localhost \
        -tls1_2 </dev/null 2>/dev/null | awk '/^New, / { print $NF }')
    alpn=$(awk -F': ' '/^ALPN protocol/ { print $2 }' <<<"$first")
    note "TLS probe $proxy: $(awk '/^New, / { print $2, $NF }' <<<"$first" | tr -d ,)" \
        "$(awk -F': ' '/^Server Temp Key/ { print $2 }' <<<"$first"), ALPN ${alpn:-none}," \
        "second connection $(grep -qE '^Reused, ' <<<"$second" && echo resumed ||
            echo 'NOT resumed'), TLS 1.2 client gets ${t12:-nothing}"
}

# tls_cell ROUND SCENARIO PROXY: a fresh proxy, a warm-up, one measured run, one raw line.
tls_cell() {
    local round=$1 scen=$2 proxy=$3 port out t0 t1 reqs rps p50=- p99=- mean=- errs cpu rss
    local status proto=- want
    tls_scenario "$scen"
    port=$(free_port)
    H2C_PORT=$(free_port)
    if ! start_proxy "$proxy" "$port" "$PATH_" "$SIZE_"; then
        printf 'tls\t%s\t%s\t%s\t%s\t-\t-\t-\t-\t-\t-\t-\n' "$round" "$scen" "$proxy" \
            "$START_FAIL" >>"$RAW"
        echo "bench: tls round $round $scen $proxy: $START_FAIL"
        return
    fi
    [[ $proxy == rampart ]] && [[ -z ${TLS_PROBED_rampart:-} ]] && {
        tls_probe rampart "$port"
        TLS_PROBED_rampart=1
    }
    out=$TMP/tls-$round-$scen-$proxy
    ((WARMUP > 0)) && tls_load "$KIND" "$port" "$out.warm" "$WARMUP"
    t0=$(cpu_ticks "$PROXY_PID")
    tls_load "$KIND" "$port" "$out" "$TLS_SECONDS"
    t1=$(cpu_ticks "$PROXY_PID")
    rss=$(mem_kb VmHWM "$PROXY_PID")
    if [[ $KIND == wrk ]]; then
        read -r rps p50 p99 errs reqs < <("$PY" "$HERE/report.py" wrk "$out.0")
    else
        read -r rps mean errs reqs proto < <("$PY" "$HERE/report.py" h2load "$out".[0-9]*)
    fi
    status=ok
    case $KIND in h2) want=h2 ;; h2c) want=h2c ;; *) want= ;; esac
    if ! kill -0 "$PROXY_PID" 2>/dev/null; then
        status=crashed
    elif [[ $rps == - ]]; then
        status="n/a (client failed)"
    elif [[ -n $want && $proto != "$want" ]]; then
        status="n/a (no $want: $proto)"
    elif [[ $errs =~ ^[0-9]+$ && $reqs =~ ^[0-9]+$ ]] && ((errs * 1000 > reqs)); then
        status=errors # over 0.1 % failed: the rate counts successes only; flagged in the table
    fi
    cpu=-
    [[ $reqs =~ ^[0-9]+$ ]] && ((reqs > 0)) &&
        cpu=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$reqs" \
            'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
    [[ $status == ok || $status == errors ]] || rps=- cpu=-
    printf 'tls\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$scen" "$proxy" \
        "$status" "$rps" "$p50" "$p99" "$mean" "$cpu" "$rss" "$errs" >>"$RAW"
    printf 'bench: tls round %d %-11s %-7s %-8s req/s %-9s p99 %-7s mean %-7s ms, CPU %s us/req, peak RSS %s kB, errors %s\n' \
        "$round" "$scen" "$proxy" "$status" "$rps" "$p99" "$mean" "$cpu" "$rss" "$errs"
    if [[ $status != ok && $status != errors ]]; then # say why, briefly
        tail -n 3 "$out".[0-9]* 2>/dev/null | sed 's/^/bench:   /' >&2
    fi
    stop_proxy
}

tls_section() {
    local round scen proxy k n cell=0
    if [[ ! -x $H2LOAD || ! -x $OPENSSL ]]; then
        echo "bench: TLS section skipped: $H2LOAD or $OPENSSL missing (Debian: nghttp2-client)" >&2
        note "TLS section skipped: h2load or openssl missing"
        return
    fi
    tls_setup || {
        note "TLS section skipped: no certificate"
        return
    }
    TLS=1
    SCHEME=https
    read -r -a TLIST <<<"$TLS_SCENARIOS"
    note "TLS: one ECDSA P-256 self-signed certificate; servers: TLS 1.2-1.3, groups $CURVES, TLS 1.3 suites $TLS13_SUITES; clients offer only $CLIENT_SUITE with $CLIENT_GROUP"
    note "TLS runs: ${TLS_SECONDS}s each (+${WARMUP}s warm-up), $ROUNDS rounds; h2load -t1 ($("$H2LOAD" --version | awk '{ print $2 }')); tls-new: bursts of $TLS_BURST fresh connections; tls-resume and wrk: $CONNS connections; h2: $H2_CONNS connections x $H2_STREAMS streams"

    # One probe per proxy of what gets negotiated (rampart's is taken in its first cell).
    for proxy in "${PLIST[@]}"; do
        [[ $proxy == rampart ]] && continue
        port=$(free_port)
        H2C_PORT=$(free_port)
        start_proxy "$proxy" "$port" /128.bin 128 || continue
        tls_probe "$proxy" "$port"
        stop_proxy
    done

    ((${#TLIST[@]} == 0)) || echo "bench: TLS: $ROUNDS round(s) x ${#TLIST[@]} scenario(s) x ${#PLIST[@]} prox(ies), ${TLS_SECONDS}s each"
    for ((round = 1; round <= ROUNDS; round++)); do
        for scen in "${TLIST[@]}"; do
            n=${#PLIST[@]}
            for ((k = 0; k < n; k++)); do
                tls_cell "$round" "$scen" "${PLIST[$(((k + cell) % n))]}"
            done
            cell=$((cell + 1))
        done
    done

    # Idle TLS connections: handshake done, one request answered, then idle.
    if ((TLS_IDLE_CONNS > 0)); then
        for proxy in "${PLIST[@]}"; do
            port=$(free_port)
            H2C_PORT=$(free_port)
            if ! start_proxy "$proxy" "$port" /128.bin 128; then
                printf 'tlsidle\t%s\t%s\t0\t0\t0\t0\t0\t0\n' "$proxy" "$START_FAIL" >>"$RAW"
                continue
            fi
            sleep 0.5
            idle_measure "$port" "$TLS_IDLE_CONNS" --tls
            printf 'tlsidle\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$proxy" "$IDLE_STATUS" \
                "$IDLE_BASE" "$IDLE_LOADED" "$IDLE_PBASE" "$IDLE_PLOADED" "$IDLE_READY" \
                "$IDLE_ALIVE" >>"$RAW"
            echo "bench: idle TLS $proxy $IDLE_STATUS: RSS $IDLE_BASE -> $IDLE_LOADED kB, PSS $IDLE_PBASE -> $IDLE_PLOADED kB with $IDLE_READY connections ($IDLE_ALIVE still open after)"
            stop_proxy
        done
    fi
    TLS='' SCHEME=http
    [[ -n $RAMPART_TLS_DEAD ]] && note "rampart refused the TLS/h2 config (bench/rampart-tls.yaml.in) or did not answer over TLS: its TLS rows read n/a"
}
