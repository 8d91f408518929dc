#!/usr/bin/env bash
# Audits rampart's TLS listener with testssl.sh: starts rampart on a loopback port with a TLS
# listener on the default profile (a throwaway CA and a localhost certificate), runs testssl and
# fails on any HIGH or CRITICAL finding. Not part of `make test` (it takes a few minutes).
#
# usage: scripts/testssl.sh [path/to/rampart]     (default: build/rampart)
# exit:  0 clean, 1 HIGH/CRITICAL findings or a failure, 77 skipped (no testssl, no TLS listeners)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/build/rampart}
[ -x "$bin" ] || { echo "testssl.sh: no rampart binary at $bin (build first)" >&2; exit 1; }
testssl=$(command -v testssl.sh || command -v testssl || true)
[ -n "$testssl" ] || { echo "testssl.sh: testssl is not installed; skipped" >&2; exit 77; }

work=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# a CA (passed to testssl with --add-ca, so the chain is trusted) and a leaf that testssl does
# not fault for the test setup itself: valid for 200 days (under 398), with revocation pointers
# (testssl does not fetch them unless told to phone out)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 400 \
    -subj "/CN=rampart testssl CA" -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
cat > "$work/ext.cnf" <<'EXT'
subjectAltName=DNS:localhost,IP:127.0.0.1
basicConstraints=CA:FALSE
keyUsage=digitalSignature
extendedKeyUsage=serverAuth
authorityInfoAccess=OCSP;URI:http://127.0.0.1:9/ocsp
crlDistributionPoints=URI:http://127.0.0.1:9/ca.crl
EXT
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -CAcreateserial -days 200 -extfile "$work/ext.cnf" -out "$work/server.pem" 2>/dev/null

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/rampart.yaml" <<YAML
workers: 1
listen:
  - address: "127.0.0.1:$port"
    tls:
      certificates:
        - cert: server.pem
          key: server.key
routes:
  - respond: {status: 200, body: "ok\n"}
log: {access: "off"}
YAML

if ! "$bin" check -c "$work/rampart.yaml" > "$work/check.out" 2>&1; then
    if grep -q 'unknown key "tls"' "$work/check.out"; then
        echo "testssl.sh: this rampart has no TLS listeners; skipped" >&2
        exit 77
    fi
    cat "$work/check.out" >&2
    exit 1
fi

"$bin" -c "$work/rampart.yaml" > "$work/rampart.out" 2>&1 &
pid=$!
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

json="${TESTSSL_JSON:-$work/testssl.json}"
rm -f "$json"
set +e
"$testssl" --quiet --color 0 --severity HIGH --warnings off --add-ca "$work/ca.pem" \
    --jsonfile "$json" "localhost:$port"
rc=$?
set -e
[ -s "$json" ] || { echo "testssl.sh: testssl wrote no results (exit $rc)" >&2; exit 1; }

/usr/bin/python3 - "$json" <<'PY'
import json, sys
findings = json.load(open(sys.argv[1]))
bad = [f for f in findings if f.get("severity") in ("HIGH", "CRITICAL")]
for f in bad:
    print(f"{f['severity']}: {f['id']}: {f['finding']}")
print(f"testssl: {len(bad)} HIGH or CRITICAL findings")
sys.exit(1 if bad else 0)
PY
