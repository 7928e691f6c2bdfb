#!/usr/bin/env bash
# Side-by-side throughput: the node versus llama-server on the same project-made GGUF base and the same LoRA adapters,
# greedy, MAX_TOKENS completion tokens per request, /v1/completions, interleaved rounds in one run; prints every
# node / llama-server ratio. Not part of the test suite (docs/benchmarks.md, "The peer harness").
#
#   bench/peer/run.sh                         # tiny and small presets, 3 rounds
#   PRESETS=small ROUNDS=5 bench/peer/run.sh
#   RESULTS_FILE=/tmp/peer.jsonl REQUESTS_1=12 REQUESTS_8=48 bench/peer/run.sh   # keep the raw lines; shorter runs
#
# llama-server is built once from the llama.cpp source bundled in the npm package node-llama-cpp@3.22.1
# (llama/gitRelease.bundle) with cmake + ninja, cached in $FEDERATION_PEER_CACHE (default ~/.cache/federation-peer).
# The node runs with its defaults (2 contexts x 1 thread, fsync per ledger entry); llama-server with -t 2 -np 4 and
# per-request "lora" scales (--lora-init-without-apply). Both count completion tokens from the response's usage.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${FEDERATION_PEER_CACHE:-$HOME/.cache/federation-peer}"
presets="${PRESETS:-tiny small}"
rounds="${ROUNDS:-3}"
max_tokens="${MAX_TOKENS:-32}"
requests_1="${REQUESTS_1:-24}"     # requests per measurement with one client
requests_8="${REQUESTS_8:-96}"     # requests per measurement with eight clients
node_port="${NODE_PORT:-18740}"
llama_port="${LLAMA_PORT:-18741}"
log() { echo "peer: $*" >&2; }

# 1. llama-server from the node-llama-cpp bundle (cached).
server="$cache/llama.cpp/build/bin/llama-server"
if [[ ! -x "$server" ]]; then
  mkdir -p "$cache"
  if [[ ! -d "$cache/llama.cpp" ]]; then
    log "fetching node-llama-cpp@3.22.1 (llama.cpp source bundle)"
    (cd "$cache" && npm pack node-llama-cpp@3.22.1 >/dev/null && tar xzf node-llama-cpp-3.22.1.tgz package/llama/gitRelease.bundle \
      && git clone -q package/llama/gitRelease.bundle llama.cpp)
  fi
  log "building llama-server (cmake + ninja; takes a while on 2 cores)"
  cmake -S "$cache/llama.cpp" -B "$cache/llama.cpp/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
    -DGGML_NATIVE=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DBUILD_SHARED_LIBS=OFF >/dev/null
  ninja -C "$cache/llama.cpp/build" llama-server >/dev/null
fi

# 2. The node and the load generator (Release).
log "building the node and the load generator (Release)"
dotnet build "$root/node/Federation.Node.csproj" -c Release -nologo -v quiet -clp:ErrorsOnly >&2
dotnet build "$root/bench/Federation.Bench/Federation.Bench.csproj" -c Release -nologo -v quiet -clp:ErrorsOnly >&2
fed() { dotnet "$root/node/bin/Release/net10.0/Federation.Node.dll" "$@"; }
load() { dotnet "$root/bench/Federation.Bench/bin/Release/net10.0/Federation.Bench.dll" peer-load "$@"; }

work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

wait_http() { # url log
  for _ in $(seq 1 600); do curl -sf -o /dev/null "$1" -H "Authorization: Bearer ${key:-x}" && return 0; sleep 0.2; done
  log "server at $1 did not come up; the end of its log:"; tail -20 "$2" >&2; return 1
}

results="${RESULTS_FILE:-$work/results.jsonl}"   # RESULTS_FILE keeps every measurement line (JSON) after the run
for preset in $presets; do
  data="$work/$preset"
  fed init --data-dir "$data" >/dev/null
  if [[ "$preset" != tiny ]]; then
    # The node serves the base file at models/base-tiny.gguf; put the other preset there before its first start.
    mkdir -p "$data/models"
    fed model create --preset "$preset" --seed 20261122 "$data/models/base-tiny.gguf" >/dev/null
  fi
  # A policy with 64 extra specialists on the T1 topic `general` (bench-01 … bench-64, one random adapter each).
  python3 - "$root/policies/routing.yaml" "$data/routing.yaml" <<'EOF2'
import sys
text = open(sys.argv[1]).read()
extra = "".join(f"  - id: bench-{i:02d}\n    topics: [general]\n    base_lineage: bench\n    jurisdiction: EU\n    adapter: bench-{i:02d}\n"
                for i in range(1, 65))
assert "\nspecialists:\n" in text, "policies/routing.yaml has no top-level specialists list"
open(sys.argv[2], "w").write(text.replace("\nspecialists:\n", "\nspecialists:\n" + extra, 1))
EOF2
  key="$(fed keys create --name bench --data-dir "$data" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')"
  # dotnet directly (not the fed function): $! must be the server itself so the cleanup trap stops it
  dotnet "$root/node/bin/Release/net10.0/Federation.Node.dll" serve --demo none --data-dir "$data" --policy "$data/routing.yaml" \
    --urls "http://127.0.0.1:$node_port" >"$work/node-$preset.log" 2>&1 &
  node_pid=$!; pids+=("$node_pid")
  wait_http "http://127.0.0.1:$node_port/v1/models" "$work/node-$preset.log"

  # The bench specialists and their adapter files, in one order for both servers.
  curl -sf "http://127.0.0.1:$node_port/v1/models" -H "Authorization: Bearer $key" >"$work/models.json"
  mapfile -t picks < <(python3 - "$work/models.json" "$data" <<'EOF2'
import hashlib, json, os, sys
models = json.load(open(sys.argv[1]))["data"]
files = {}
for d, _, names in os.walk(sys.argv[2]):
    for n in names:
        if n.endswith(".gguf"):
            p = os.path.join(d, n)
            files[hashlib.sha256(open(p, "rb").read()).hexdigest()] = p
for m in sorted(models, key=lambda m: m["id"]):
    f = m.get("federation") or {}
    if m["id"].startswith("bench-") and f.get("adapter_cid") in files:
        print(m["id"] + " " + files[f["adapter_cid"]] + " " + files.get(f.get("base_cid"), ""))
EOF2
)
  (( ${#picks[@]} == 64 )) || { log "the node lists ${#picks[@]} bench specialists, need 64"; exit 1; }
  ids=(); loras=()
  for line in "${picks[@]}"; do read -r id file base <<<"$line"; ids+=("$id"); loras+=(--lora "$file"); done
  base="${base:-$data/models/base-tiny.gguf}"
  "$server" -m "$base" "${loras[@]}" --lora-init-without-apply -t 2 -np 4 -c 2048 --host 127.0.0.1 --port "$llama_port" \
    >"$work/llama-$preset.log" 2>&1 &
  llama_pid=$!; pids+=("$llama_pid")
  wait_http "http://127.0.0.1:$llama_port/health" "$work/llama-$preset.log"
  models_csv="$(IFS=,; echo "${ids[*]}")"

  for r in $(seq 1 "$rounds"); do
    for wl in "1 1 $requests_1" "8 1 $requests_8" "8 8 $requests_8" "8 64 $requests_8"; do
      read -r c a n <<<"$wl"
      order=(node llama); (( r % 2 == 0 )) && order=(llama node)
      for k in "${order[@]}"; do
        if [[ $k == node ]]; then url="http://127.0.0.1:$node_port"; else url="http://127.0.0.1:$llama_port"; fi
        load --url "$url" --kind "$k" --clients "$c" --adapters "$a" --requests "$n" --max-tokens "$max_tokens" \
          --models "$models_csv" --api-key "$key" --label "$preset/$c/$a/$r" >>"$results"
      done
    done
  done
  kill "$node_pid" "$llama_pid" 2>/dev/null || true; wait "$node_pid" "$llama_pid" 2>/dev/null || true
done

load_avg="$(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$results" "$load_avg" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in rows:
    preset, c, a, rnd = r["label"].split("/")
    by.setdefault((preset, int(c), int(a)), {}).setdefault(rnd, {})[r["kind"]] = r["tokens_per_second"]
print(f"load average at the end: {sys.argv[2]}")
print("| model | workload | node tok/s | llama-server tok/s | node / llama-server (per round) | median ratio |")
print("|---|---|---|---|---|---|")
for (preset, c, a), rounds in by.items():
    node = [v["node"] for v in rounds.values()]
    llama = [v["llama"] for v in rounds.values()]
    ratios = [v["node"] / v["llama"] for v in rounds.values()]
    wl = f"{c} client{'s' if c > 1 else ''}, {a} adapter{'s' if a > 1 else ''}"
    print(f"| {preset} | {wl} | {min(node):,.0f}–{max(node):,.0f} | {min(llama):,.0f}–{max(llama):,.0f} | "
          + ", ".join(f"{x:.2f}" for x in ratios) + f" | {statistics.median(ratios):.2f} |")
EOF
