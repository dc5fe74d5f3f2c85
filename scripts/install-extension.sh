#!/usr/bin/env bash
# Installs the RunPod Serverless extension into a SwarmUI folder: the extension sources, the
# project file SwarmUI builds, and libswarmpod, all in <SwarmUI>/src/Extensions/<name>/.
#   scripts/install-extension.sh <SwarmUI folder> [--build-dir DIR] [--name FOLDER]
# --build-dir  a configured CMake build folder (default: build/release, configured and built with
#              the release preset when it has no libswarmpod yet)
# --name       extension folder name (default: SwarmPod)
# Restart SwarmUI afterwards; it builds the extension on start.
set -euo pipefail

usage() {
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

repo="$(cd "$(dirname "$0")/.." && pwd)"
swarmui=""
build_dir="$repo/build/release"
name="SwarmPod"
while [ $# -gt 0 ]; do
    case "$1" in
        --build-dir) [ $# -ge 2 ] || usage; build_dir="$2"; shift 2 ;;
        --name) [ $# -ge 2 ] || usage; name="$2"; shift 2 ;;
        -h|--help) usage ;;
        -*) echo "install-extension: unknown option '$1'" >&2; usage ;;
        *) [ -z "$swarmui" ] || usage; swarmui="$1"; shift ;;
    esac
done
[ -n "$swarmui" ] || usage

if [ ! -f "$swarmui/src/SwarmUI.extension.props" ]; then
    echo "install-extension: '$swarmui' is not a SwarmUI folder: src/SwarmUI.extension.props is missing." >&2
    echo "Pass the folder that contains SwarmUI's launch scripts and src/." >&2
    exit 1
fi
case "$name" in
    ""|*/*|.*|*.disable|*.delete)
        echo "install-extension: invalid --name '$name': use a plain folder name; SwarmUI skips names ending in .disable or .delete." >&2
        exit 1 ;;
esac

if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    if [ "$build_dir" != "$repo/build/release" ]; then
        echo "install-extension: '$build_dir' is not a configured CMake build folder; configure it with 'cmake -S $repo -B $build_dir'." >&2
        exit 1
    fi
    (cd "$repo" && cmake --preset release)
fi
# Configure again, so that a build folder made before the install rules existed gets them.
cmake "$build_dir" >/dev/null
cmake --build "$build_dir" --target swarmpod

dest="$swarmui/src/Extensions/$name"
mkdir -p "$dest"
cmake --install "$build_dir" --component swarmui-extension --prefix "$dest"

for required in SwarmPodExtension.csproj RunPodServerlessExtension.cs; do
    if [ ! -f "$dest/$required" ]; then
        echo "install-extension: $dest/$required is missing after the install; check the output above." >&2
        exit 1
    fi
done
found_library=""
for library in libswarmpod.so swarmpod.dll libswarmpod.dylib; do
    [ -e "$dest/$library" ] && found_library="$library"
done
if [ -z "$found_library" ]; then
    echo "install-extension: no libswarmpod was installed into $dest; check the output above." >&2
    exit 1
fi
echo "Installed the RunPod Serverless extension into $dest. Restart SwarmUI to build and load it."
