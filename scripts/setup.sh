#!/usr/bin/env bash
# Installs everything Federation needs on a fresh Debian bookworm machine with the .NET 10 SDK:
# the pinned llama.cpp native libraries (npm), the Debian packages the tests use, and the NuGet packages.
# Safe to run again: every step checks first.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

LLAMA_NPM_PACKAGE="@node-llama-cpp/linux-x64@3.22.1"   # llama.cpp v0.5.0 (see docs/llama-native.md)
native="$root/.native"
libdir="$native/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"

command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK is required (dotnet not on PATH)" >&2; exit 1; }

if [[ ! -f "$libdir/libllama.v0.5.0.so" ]]; then
  command -v npm >/dev/null || { echo "setup: npm is required to install the llama.cpp native libraries" >&2; exit 1; }
  echo "setup: installing llama.cpp native libraries ($LLAMA_NPM_PACKAGE) into .native/" >&2
  mkdir -p "$native"
  (cd "$native" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error "$LLAMA_NPM_PACKAGE" >&2)
fi

# Debian packages used by the tests (installed only when missing; needs root or sudo).
need=()
for entry in ${FEDERATION_APT_PACKAGES:-}; do
  dpkg -s "$entry" >/dev/null 2>&1 || need+=("$entry")
done
if ((${#need[@]})); then
  sudo_cmd=""; [[ $(id -u) -eq 0 ]] || sudo_cmd="sudo"
  echo "setup: installing Debian packages: ${need[*]}" >&2
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >&2
fi

echo "setup: restoring NuGet packages" >&2
dotnet restore "$root/Federation.sln" -v quiet >&2
echo "setup: done" >&2
