#!/usr/bin/env bash
# Starts swarmpod-emulator on a free loopback port, runs the given command with the
# emulator's RunPod API base URL appended, and stops the emulator.
#   run_with_emulator.sh EMULATOR COMMAND [ARG...]
set -euo pipefail
emulator=$1
shift
port_file=$(mktemp)
"$emulator" --listen 127.0.0.1:0 --quiet --cold-start-ms 300 --generation-ms 50 --idle-timeout-ms 1000 \
    >"$port_file" &
emulator_pid=$!
trap 'kill "$emulator_pid" 2>/dev/null; wait "$emulator_pid" 2>/dev/null; rm -f "$port_file"' EXIT
for _ in $(seq 100); do
    grep -q 'listening on' "$port_file" && break
    sleep 0.1
done
base=$(sed -n 's/.*listening on \(http:\/\/[^ ]*\).*/\1/p' "$port_file" | head -n 1)
if [ -z "$base" ]; then
    echo "swarmpod-emulator did not report its address" >&2
    exit 1
fi
"$@" "$base/v2"
