#!/usr/bin/env bash
# The ledger's kill -9 test as a long run: N trials (default 100) of SIGKILL during `fed ledger append`, reporting
# acknowledged entries lost (goal 0) and recovery time. Usage: bench/killtest.sh [trials] [--seed N] [--max-acks N]
set -euo pipefail
cd "$(dirname "$0")/.."
exec dotnet run -c Release --project bench/Federation.Bench -- killtest "$@"
