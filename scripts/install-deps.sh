#!/usr/bin/env bash
# Installs the Debian packages swarmpod needs to build and test, and only those that are
# missing. Safe to run again: it does nothing when everything is present.
set -euo pipefail

packages=(
    cmake ninja-build pkg-config g++
    libcurl4-openssl-dev zlib1g-dev nlohmann-json3-dev libspdlog-dev libstb-dev
    libboost1.81-dev libcpp-httplib-dev libwebp-dev
    libgtest-dev libgmock-dev libbenchmark-dev
    ca-certificates curl
    clang-14 libclang-rt-14-dev valgrind openssl
)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} build packages are present"
else
    echo "install-deps: installing ${missing[*]}"
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
        sudo_cmd=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -q
    "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v dotnet >/dev/null; then
    echo "install-deps: the .NET SDK (dotnet) is not on PATH; the C# binding tests need it" >&2
    exit 1
fi
