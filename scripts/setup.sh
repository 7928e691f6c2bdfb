#!/usr/bin/env bash
# Installs everything Federation needs on a fresh Debian bookworm machine with the .NET 10 SDK:
# the Debian packages the tests use, and the NuGet packages (llama.cpp comes with them: LLamaSharp.Backend.Cpu).
# Safe to run again: every step checks first.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK is required (dotnet not on PATH)" >&2; exit 1; }

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
