#!/usr/bin/env bash
# Installs the RunPod Serverless extension into a SwarmUI folder: the extension sources, the
# project file SwarmUI builds, and libswarmpod, all in <SwarmUI>/src/Extensions/<name>/.
#   scripts/install-extension.sh <SwarmUI folder> [--build-dir DIR] [--name FOLDER]
# --build-dir  a configured CMake build folder, relative to the repository root (default:
#              build/release, which the release preset configures and builds when it has no
#              libswarmpod yet)
# --name       extension folder name (default: SwarmPod)
# The installed libswarmpod is stripped of its symbol table and debug info; the build's own file
# is left as it is. Each file is copied beside its target and renamed over it, so a SwarmUI that
# has the old libswarmpod loaded keeps its mapping. Restart SwarmUI afterwards; it builds the
# extension on start.
set -euo pipefail

usage() {
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
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
case "$build_dir" in
    /*) ;;
    *) build_dir="$repo/$build_dir" ;;
esac

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

# cmake --install rewrites existing files in place, and rewriting the libswarmpod that a running
# SwarmUI has mapped can crash it. So the component goes to a staging folder, and each file is
# renamed into place, which gives it a new inode and leaves the old mapping intact.
staging="$(mktemp -d "${TMPDIR:-/tmp}/swarmpod-extension.XXXXXX")"
temporary_file=""
cleanup() {
    [ -z "$temporary_file" ] || rm -f "$temporary_file"
    rm -rf "$staging"
}
trap cleanup EXIT
cmake --install "$build_dir" --component swarmui-extension --prefix "$staging"
# The build's libswarmpod carries its symbol table and debug info: a Debug build with g++ 12 on
# x86-64 gave 84 MB, 6.3 MB stripped. Only the staged copy is stripped, so the build folder keeps
# its debuggable file.
strip_tool="${STRIP:-strip}"
while IFS= read -r -d '' library; do
    if ! command -v "$strip_tool" >/dev/null 2>&1; then
        echo "install-extension: warning: '$strip_tool' was not found, so $(basename "$library") is installed with its debug info; install binutils or set STRIP to remove it." >&2
        break
    fi
    "$strip_tool" --strip-unneeded "$library"
done < <(find "$staging" -type f -name 'libswarmpod.so*' -print0)
while IFS= read -r -d '' folder; do
    mkdir -p "$dest/$folder"
done < <(cd "$staging" && find . -type d -print0)
while IFS= read -r -d '' file; do
    target="$dest/$file"
    # The temporary name is in the target's folder, so mv is a rename on one file system.
    temporary_file="$(dirname "$target")/.$(basename "$target").install-$$"
    cp -P -p "$staging/$file" "$temporary_file"
    mv -f "$temporary_file" "$target"
    temporary_file=""
done < <(cd "$staging" && find . ! -type d -print0)

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

# A copied folder has no git commit, so SwarmUI keeps using the build output it made for the
# earlier version until that output is deleted.
stale_build="$swarmui/src/bin/extensions/SwarmExtension$name"
if [ -e "$stale_build" ]; then
    echo "SwarmUI has a build of an earlier version: delete $stale_build, then restart SwarmUI so that it builds this one."
fi
