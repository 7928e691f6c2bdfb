#!/usr/bin/env bash
# Interop check against the Spore reference node (docs/spore.md, "Interop").
# Needs: the reference source (SporeMesh/Spore at 25151fa) in $SPORE_REF (a directory holding spore/),
# Debian's python3 with python3-nacl (apt-get install python3-nacl python3-rich), and a built node (dotnet build node).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
: "${SPORE_REF:?set SPORE_REF to a checkout of github.com/SporeMesh/Spore (commit 25151fa) }"
cd "$root"
PYTHONPATH="$SPORE_REF" exec /usr/bin/python3 tests/interop/spore/interop.py
