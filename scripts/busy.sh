#!/usr/bin/env bash
# Run a command with the machine's cores kept busy, the way a laptop doing other work is.
# Usage: scripts/busy.sh [-n LOOPS] [-t MAX_SECONDS] -- command [args...]
#   -n  busy loops to start (default: the number of cores)
#   -t  each loop stops by itself after this many seconds, whatever happens (default 3600)
# The loops are stopped when the command ends, on Ctrl-C, and on any error; the exit code is the
# command's. Example: scripts/busy.sh -- make test
set -euo pipefail
loops=$(nproc)
limit=3600
while getopts "n:t:" opt; do
    case "$opt" in
        n) loops="$OPTARG" ;;
        t) limit="$OPTARG" ;;
        *) echo "usage: $0 [-n LOOPS] [-t MAX_SECONDS] -- command [args...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
if [ $# -eq 0 ]; then echo "usage: $0 [-n LOOPS] [-t MAX_SECONDS] -- command [args...]" >&2; exit 2; fi
case "$loops$limit" in *[!0-9]*) echo "$0: -n and -t take whole numbers" >&2; exit 2 ;; esac

pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait "${pids[@]}" 2>/dev/null || true; }
trap stop EXIT INT TERM
for _ in $(seq "$loops"); do
    timeout "$limit" python3 -c 'while True: pass' &
    pids+=($!)
done
echo "[busy] $loops busy loops running (at most ${limit}s): ${pids[*]}" >&2
start=$(date +%s)
set +e
"$@"
rc=$?
set -e
echo "[busy] '$*' exited $rc after $(( $(date +%s) - start ))s with $loops busy loops" >&2
exit $rc
