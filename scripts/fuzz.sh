#!/usr/bin/env bash
# Runs every libFuzzer harness in BUILD for SECONDS each over its seed corpus in tests/fuzz/corpus/NAME.
# New inputs go to a scratch directory, so the tree's corpus only changes by hand.
set -euo pipefail
build=${1:?build dir}; secs=${2:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
shopt -s nullglob
found=0
for bin in "$build"/tests/fuzz/fuzz_*; do
  [ -f "$bin" ] && [ -x "$bin" ] || continue
  name=${bin##*/fuzz_}
  seeds="$root/tests/fuzz/corpus/$name"
  work="$root/tests/fuzz/corpus-work/$name"
  mkdir -p "$work"
  echo "fuzz: $name for ${secs}s"
  "$bin" -max_total_time="$secs" -print_final_stats=0 "$work" ${seeds:+$seeds} >"$work.log" 2>&1 || {
    tail -40 "$work.log"; echo "fuzz: $name FAILED"; exit 1; }
  found=$((found+1))
done
echo "fuzz: $found harnesses ran clean"
