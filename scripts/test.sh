#!/usr/bin/env bash
# Builds everything and runs every test: the C++ suites through CTest (unit, the plain-C
# header check, integration against the emulator process) and the C# suites with
# dotnet test against the real native library. Exits non-zero on any failure.
#   scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev
ctest --preset dev --parallel 2

export SWARMPOD_BUILD_DIR="$PWD/build/dev"
export DOTNET_ROLL_FORWARD=Major
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
for project in bindings/csharp/*.Tests/*.csproj; do
    [ -e "$project" ] || continue
    echo "test: dotnet test $project"
    dotnet test "$project" --nologo
done
