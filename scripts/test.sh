#!/usr/bin/env bash
# Runs every test project and prints one closing line "N passed, M failed, K skipped".
# Exit status is non-zero when anything failed or nothing ran.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
FEDERATION_APT_PACKAGES="${FEDERATION_APT_PACKAGES:-chromium postgresql}" "$root/scripts/setup.sh" || { echo "0 passed, 1 failed"; exit 1; }

log="$(mktemp)"
dotnet build "$root/Federation.sln" -c Debug -nologo -v quiet -clp:ErrorsOnly || { echo "0 passed, 1 failed"; exit 1; }
# console logger at "minimal": a failed test prints its message and stack trace (quiet printed only its name), passes stay silent
dotnet test "$root/Federation.sln" -c Debug --no-build -nologo -v quiet --logger "console;verbosity=minimal" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# VSTest prints one summary per test assembly: "Passed!  - Failed: 0, Passed: 12, Skipped: 0, Total: 12, ..."
read -r passed failed skipped < <(grep -E '(Passed|Failed)!? +- +Failed: ' "$log" | awk -F'[:,]' \
  '{f+=$2; p+=$4; s+=$6} END {printf "%d %d %d\n", p, f, s}')
assemblies=$(grep -cE '(Passed|Failed)!? +- +Failed: ' "$log")
expected=$(ls "$root"/tests/*/*.csproj | wc -l)
if (( assemblies < expected )); then
  echo "test: only $assemblies of $expected test assemblies reported a summary (one crashed or did not run)" >&2
  failed=$((failed + 1)); status=1
fi
rm -f "$log"
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
if (( status != 0 || failed > 0 || passed == 0 )); then exit 1; fi
exit 0
