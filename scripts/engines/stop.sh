#!/usr/bin/env bash
# Stops the engines start.sh started and removes their directory (all data thrown away).
#
#   scripts/engines/stop.sh [DIR]      DIR defaults to $REGISTRY_TEST_ENGINES_DIR
#
# Ceph daemons get SIGKILL (a memstore OSD given SIGTERM first dumps its whole store to disk);
# PostgreSQL gets SIGQUIT (immediate shutdown). Each PID is checked against the program it was
# recorded for, so a PID the system has since reused is left alone.
set -euo pipefail

dir="${1:-${REGISTRY_TEST_ENGINES_DIR:-}}"
[[ -n "$dir" ]] || { echo "stop.sh: no directory given and REGISTRY_TEST_ENGINES_DIR unset" >&2; exit 2; }
[[ -d "$dir" ]] || { echo "stop.sh: $dir does not exist" >&2; exit 0; }
[[ -f "$dir/.registry-engines" ]] || { echo "stop.sh: $dir was not made by start.sh; not touching it" >&2; exit 1; }

# The program name each recorded daemon must still have (/proc/PID/comm, at most 15 chars).
program_of() {
    case "$1" in
        postgres) echo postgres ;;
        mon.*) echo ceph-mon ;;
        osd.*) echo ceph-osd ;;
        client.rgw.*) echo radosgw ;;
        *) echo "" ;;
    esac
}

stopped=()
if [[ -f "$dir/pids" ]]; then
    while read -r name pid signal; do
        [[ -n "$pid" ]] || continue
        comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
        if [[ -n "$comm" && "$comm" == "$(program_of "$name")" ]]; then
            kill "-$signal" "$pid" 2>/dev/null && stopped+=("$pid")
        fi
    done < "$dir/pids"
fi

# Whether a PID still runs. A zombie has finished: it only waits to be reaped by its parent,
# PID 1 once start.sh has exited, which may take seconds to get to it.
running() {
    local state
    state="$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)" || return 1
    [[ -n "$state" && "$state" != Z ]]
}

# Wait (up to 10 s) for them to go: PostgreSQL still writes into the directory while it exits.
for _ in $(seq 100); do
    alive=false
    for pid in "${stopped[@]}"; do running "$pid" && alive=true; done
    $alive || break
    sleep 0.1
done
rm -rf -- "$dir"
echo "engines: stopped ${#stopped[@]} processes, removed $dir" >&2
