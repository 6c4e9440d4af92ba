#!/usr/bin/env bash
# Rebuilds BENCHMARKS.md from the per-benchmark result files in bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  echo "# Benchmarks"
  echo
  echo "Every figure comes from a script in bench/ run on this project's 2-core, shared machine, against a"
  echo "baseline measured in the same run. Absolute numbers move with the load of the box; the ratios are the"
  echo "point. Each section names its command and date. Results that got worse stay, with the reason."
  echo
  for f in proxy proxy-pinned proxy-perf policy-request workers sessions scan storage memory ws fleet operator; do
    [ -f "bench/results/$f.md" ] || continue
    echo
    sed -e 's/^# /## /' "bench/results/$f.md"
    echo
  done
} > BENCHMARKS.md
