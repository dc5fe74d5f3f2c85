#!/usr/bin/env bash
# The main job, end to end on this machine: install what is missing, build, start the
# local RunPod emulator on a free loopback port, generate one image with the swarmpod
# CLI, and stop the emulator.
#   scripts/demo.sh ["prompt"]
set -euo pipefail
cd "$(dirname "$0")/.."

prompt="${1:-a lighthouse on a cliff at dusk, volumetric light}"
build_dir=build/release
out_dir=out

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target swarmpod_cli swarmpod-emulator

mkdir -p "$out_dir"
port_file=$(mktemp)
emulator_log="$out_dir/emulator.log"
# Demo timings: a 3 s cold start and 1.5 s per image, so the lifecycle is visible.
"$build_dir/tools/emulator/swarmpod-emulator" --listen 127.0.0.1:0 --cold-start-ms 3000 --generation-ms 1500 \
    --idle-timeout-ms 5000 --api-key demo-key --endpoint-id demo-endpoint >"$port_file" 2>"$emulator_log" &
emulator_pid=$!
trap 'kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true; rm -f "$port_file"' EXIT

for _ in $(seq 100); do
    grep -q "listening on" "$port_file" && break
    sleep 0.1
done
api_base="$(sed -n 's/.*listening on \(http:\/\/[^ ]*\).*/\1/p' "$port_file" | head -n1)/v2"
[ "$api_base" != "/v2" ] || { echo "demo: the emulator did not start; see $emulator_log" >&2; exit 1; }
echo "demo: RunPod emulator at $api_base (endpoint demo-endpoint)"

RUNPOD_API_KEY=demo-key "$build_dir/apps/swarmpod/swarmpod" generate \
    --endpoint demo-endpoint --api-base "$api_base" --allow-insecure-worker-urls \
    --prompt "$prompt" --width 768 --height 512 --out "$out_dir/demo.png"

echo "demo: done; the emulator's billing ledger:"
curl -s "${api_base%/v2}/admin/ledger" | head -c 2000 || true
echo
