#!/usr/bin/env bash
# The memory bench on SQLite and PostgreSQL in one command, with a PostgreSQL server this script owns (as the tests'
# fixture does): initdb of its own cluster in a temp dir, started with pg_ctl on a free 127.0.0.1 port as the
# `postgres` OS user when run as root, fsync on, synchronous_commit on, shared_buffers=512MB; stopped and deleted after.
# Usage: bench/memory-both.sh [fragments=100000] [bench options: --only sqlite|postgres, --no-service, --queries N ...]
# Env: FEDERATION_BENCH_DLL=path/Federation.Bench.dll runs a built bench instead of `dotnet run -c Release`;
#      KEEP_DIR=dir keeps the SQLite store there (for `memory N dir --reuse`); PG_BIN overrides the server binaries' dir.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"; [ $# -gt 0 ] && shift
bin="${PG_BIN:-$(pg_config --bindir 2>/dev/null || true)}"
[ -x "$bin/initdb" ] || bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$bin/initdb" ] || { echo "PostgreSQL server binaries not found: install Debian's 'postgresql' package" >&2; exit 2; }
dir="$(mktemp -d /tmp/fed-membench-XXXXXX)"
chmod 755 "$dir"
as=()
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; as=(runuser -u postgres --); fi
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cleanup() {
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
"${as[@]}" "$bin/initdb" -D "$dir/data" -U fed --auth=trust -E UTF8 --no-locale >/dev/null
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c synchronous_commit=on -c max_wal_size=4GB" start >/dev/null
conn="Host=127.0.0.1;Port=$port;Username=fed;Database=postgres;Pooling=true;Timeout=30;Command Timeout=3600"
echo "# PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (own cluster $dir/data); load: $(cut -d' ' -f1-3 /proc/loadavg)"
store="${KEEP_DIR:-$dir/sqlite}"
mkdir -p "$store"
if [ -n "${FEDERATION_BENCH_DLL:-}" ]; then
  dotnet "$FEDERATION_BENCH_DLL" memory "$n" "$store" --postgres "$conn" "$@"
else
  dotnet run -c Release --project bench/Federation.Bench -- memory "$n" "$store" --postgres "$conn" "$@"
fi
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
