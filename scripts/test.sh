#!/usr/bin/env bash
# Builds everything and runs every test: the C++ suites through CTest (unit, the plain-C
# header check, integration against the emulator process, valgrind memcheck of the C
# ABI), the C# suites with dotnet test against the real native library, the C++ suites
# again under AddressSanitizer + UBSan and under ThreadSanitizer, and a short run of
# each libFuzzer target. Exits non-zero on any failure.
#   scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset dev >/dev/null
# Every build uses 2 jobs, the core count of the CI machine.
cmake --build --preset dev -j 2
ctest --preset dev --parallel 2

export SWARMPOD_BUILD_DIR="$PWD/build/dev"
export DOTNET_ROLL_FORWARD=Major
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
for project in bindings/csharp/*.Tests/*.csproj; do
    [ -e "$project" ] || continue
    echo "test: dotnet test $project"
    dotnet test "$project" --nologo
done

# Sanitizer stages.
export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp halt_on_error=1 second_deadlock_stack=1"
for preset in asan tsan; do
    echo "test: $preset build and ctest"
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset" -j 2
    ctest --preset "$preset" --parallel 2
done

# Fuzzing: each target runs for SWARMPOD_FUZZ_SECONDS (20) from its seed corpus.
echo "test: fuzz build and short fuzz runs"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j 2
ctest --preset fuzz --parallel 2
