#!/usr/bin/env bash
# Does the suite flake? Run the README's test command IDLE times on a quiet machine, then LOADED
# times beside two busy processes (`yes > /dev/null`), one after the other, and log each run.
#
#   benchmarks/repeat_suite.sh [IDLE=10] [LOADED=10] [LOG=suite-runs.log]
#
# Run it from an activated environment in the repository (a fresh clone, after `.ci/run`, is what
# CI sees). Every run's whole output is kept next to the log as LOG.N; the exit status is the
# number of runs that failed.
set -u
IDLE=${1:-10}
LOADED=${2:-10}
LOG=${3:-suite-runs.log}
: >"$LOG"
failed=0
busy=()
trap 'kill "${busy[@]}" 2>/dev/null' EXIT
for ((i = 1; i <= IDLE + LOADED; i++)); do
  if ((i == IDLE + 1)); then
    yes >/dev/null & busy+=($!)
    yes >/dev/null & busy+=($!)
  fi
  kind=$([ "$i" -le "$IDLE" ] && echo idle || echo loaded)
  started=$SECONDS
  pytest -q >"$LOG.$i" 2>&1
  status=$?
  ((status != 0)) && failed=$((failed + 1))
  echo "run $i ($kind) exit $status: $(tail -n 1 "$LOG.$i") in $((SECONDS - started)) s, load $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$LOG"
done
echo "$failed of $((IDLE + LOADED)) runs failed" | tee -a "$LOG"
exit "$failed"
