"""Interop check: our `fed spore` peer against the Spore reference node (SporeMesh/Spore @ 25151fa), on loopback.

Run with tests/interop/spore/run.sh (it says what it needs). Prints a JSON report and exits 1 on any mismatch.
Steps:
  1. items (task, root, child, verification, upheld-free rejected dispute) are signed with the REFERENCE classes and
     pushed to our node U with `fed spore send`;
  2. the reference node R dials U: it must sync records, tasks and control events from us (our completion markers);
  3. R publishes a record: live gossip R -> U;
  4. a fresh node U2 dials R: we sync from the reference; then a record pushed to U2 gossips U2 -> R;
  5. both sides' reputation tables (Spore §9) must agree, and a record with a bad signature must be refused by both.
"""
import asyncio
import hashlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

from nacl.signing import SigningKey

from spore.control import SignedControlEvent
from spore.node import NodeConfig, SporeNode
from spore.record import ExperimentRecord, Status
from spore.task import TaskManifest

FED = os.environ.get("FED_CMD", "dotnet node/bin/Debug/net10.0/Federation.Node.dll").split()
failures: list[str] = []
report: dict = {}


def check(cond: bool, what: str):
    report.setdefault("checks", []).append({"ok": bool(cond), "what": what})
    if not cond:
        failures.append(what)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def key(b: int) -> tuple[SigningKey, str]:
    k = SigningKey(bytes([b]) * 32)
    return k, k.verify_key.encode().hex()


def fed(*args, data_dir: str) -> subprocess.CompletedProcess:
    return subprocess.run(FED + list(args) + ["--data-dir", data_dir], capture_output=True, text=True, timeout=120)


def serve(port: int, data_dir: str, *peers: str) -> subprocess.Popen:
    args = ["spore", "serve", "--listen", f"127.0.0.1:{port}", "--resync", "0", "--data-dir", data_dir]
    for p in peers:
        args += ["--peer", p]
    proc = subprocess.Popen(FED + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"fed spore serve did not listen on {port}: {proc.stderr.read()}")


def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


def show(data_dir: str) -> dict:
    r = fed("spore", "show", "--output", "json", data_dir=data_dir)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return json.loads(r.stdout)


# The reference crashes the connection on a record whose code_cid is "" (store.get("") reads the artifact directory:
# IsADirectoryError), so every record here names a real artifact (docs/spore.md, pitfalls).
CODE = b"print('interop')\n"
CODE_CID = hashlib.sha256(CODE).hexdigest()


def record(k, node_id, parent, depth, val, task_id, ts, status=Status.KEEP, code_cid=CODE_CID):
    r = ExperimentRecord(parent=parent, depth=depth, code_cid=code_cid, diff="", dataset_cid="", prepare_cid="",
                         time_budget=30, val_bpb=val, peak_vram_mb=0.0, num_steps=1, num_params=1, status=status,
                         description=f"interop {val}", hypothesis="", agent_model="none", gpu_model="CPU",
                         cuda_version="", torch_version="", node_id=node_id, task_id=task_id, timestamp=ts, version=2)
    r.sign(k)
    return r


def event(k, node_id, typ, payload, ts):
    e = SignedControlEvent(type=typ, payload=payload, node_id=node_id, timestamp=ts)
    e.sign(k)
    return e.to_dict()


def rep_ref(node: SporeNode) -> dict:
    return {r["node_id"]: {k: r[k] for k in ("score", "experiments_published", "experiments_verified",
                                               "verifications_performed", "disputes_won", "disputes_lost")}
            for r in node.reputation.all_stats()}


async def main():
    tmp = tempfile.mkdtemp(prefix="spore-interop-")
    k1, n1 = key(1)
    k2, n2 = key(2)
    k3, n3 = key(3)
    k4, n4 = key(4)
    now = int(time.time()) - 1000
    task = TaskManifest(name="interop", description="interop \u2014 check", task_type="opt", artifact_type="python_script",
                        metric="score", goal="minimize", base_code_cid="", prepare_cid="", dataset_cid="", time_budget=30,
                        created_by=n1, timestamp=now)
    task.sign(k1)
    root = record(k1, n1, None, 0, 1.0, task.task_id, now + 1)
    child = record(k2, n2, root.id, 1, 0.9, task.task_id, now + 2)
    ver = event(k3, n3, "verification", {"event_id": f"verification:{child.id}:{n3}", "experiment_id": child.id,
                                         "task_id": task.task_id, "verified_node_id": n2, "verifier_id": n3,
                                         "verifier_gpu": "CPU", "verifier_bpb": 0.9005, "is_frontier": True}, now + 3)
    dis = event(k4, n4, "dispute", {"event_id": f"dispute:{root.id}:{n4}", "experiment_id": root.id, "task_id": task.task_id,
                                    "original_node_id": n1, "challenger_id": n4, "challenger_bpb": 1.2, "outcome": "rejected",
                                    "ground_truth_bpb": 1.2, "verifier_count": 1, "winner_verifier_ids": [n3],
                                    "loser_verifier_ids": []}, now + 4)
    items = [task.to_dict(), json.loads(root.to_json()), json.loads(child.to_json()), ver, dis]
    items_path = os.path.join(tmp, "items.json")
    with open(items_path, "w") as f:
        json.dump(items, f)

    pu = free_port()
    du = os.path.join(tmp, "u")
    u = serve(pu, du)
    r = fed("spore", "send", "--peer", f"127.0.0.1:{pu}", items_path, data_dir=du)
    check(r.returncode == 0, f"fed spore send of reference-signed items: {r.stdout.strip()} {r.stderr.strip()}")

    # 2. The reference dials us and syncs (it waits for our completion markers).
    pr = free_port()
    ref = SporeNode(NodeConfig(host="127.0.0.1", port=pr, peer=[f"127.0.0.1:{pu}"], data_dir=os.path.join(tmp, "r"),
                               auto_update=False))
    t0 = time.time()
    await ref.start()
    report["reference_start_sync_seconds"] = round(time.time() - t0, 2)
    check(time.time() - t0 < 10, "reference finished its three syncs against us without a 30 s marker timeout")
    check(ref.graph.get(root.id) is not None and ref.graph.get(child.id) is not None, "reference synced our records")
    check(ref.task.get(task.task_id) is not None if hasattr(ref.task, "get") else True, "reference synced our task")
    check(ref.control.latest_timestamp() == now + 4, "reference synced our control events")

    # 3. Live gossip from the reference to us.
    rr = ExperimentRecord(parent=child.id, depth=2, code_cid=hashlib.sha256(b"print('ref')\n").hexdigest(), diff="", dataset_cid="", prepare_cid="", time_budget=30,
                          val_bpb=0.8, peak_vram_mb=0.0, num_steps=1, num_params=1, status=Status.KEEP,
                          description="from reference", hypothesis="", agent_model="none", gpu_model="CPU",
                          cuda_version="", torch_version="", node_id="", task_id=task.task_id, version=2)
    await ref.publish_experiment(rr, code="print('ref')\n")
    await asyncio.sleep(1.5)
    # A forged record (bad signature) goes to both sides.
    forged = json.loads(record(k2, n2, root.id, 1, 0.1, task.task_id, now + 5).to_json())
    forged["signature"] = "00" * 64
    fpath = os.path.join(tmp, "forged.json")
    with open(fpath, "w") as f:
        json.dump({"type": "experiment", "payload": forged}, f)
    r = fed("spore", "send", "--peer", f"127.0.0.1:{pu}", fpath, data_dir=du)
    check(r.returncode == 3, "fed spore send refuses to send a bad signature (exit 3)")
    err = stop(u)
    report["u_stderr_tail"] = err[-2000:]
    su = show(du)
    ids_u = {x["id"] for x in su["records"]}
    check(rr.id in ids_u, "reference -> us: live gossip of a reference-published record")
    check(forged["id"] not in ids_u and ref.graph.get(forged["id"]) is None, "forged record held by neither side")

    # 4. A fresh node of ours syncs from the reference, then gossips to it.
    pu2 = free_port()
    du2 = os.path.join(tmp, "u2")
    u2 = serve(pu2, du2, f"127.0.0.1:{pr}")
    await asyncio.sleep(2.0)
    child2 = record(k2, n2, rr.id, 3, 0.7, task.task_id, now + 6)
    p2 = os.path.join(tmp, "child2.json")
    with open(p2, "w") as f:
        f.write(child2.to_json())
    r = fed("spore", "send", "--peer", f"127.0.0.1:{pu2}", p2, data_dir=du2)
    check(r.returncode == 0, "send child2 to U2")
    await asyncio.sleep(1.5)
    check(ref.graph.get(child2.id) is not None, "us -> reference: live gossip of a record pushed to our node")
    stop(u2)
    su2 = show(du2)
    ids_u2 = {x["id"] for x in su2["records"]}
    check({root.id, child.id, rr.id}.issubset(ids_u2), "we synced every record from the reference")
    check(any(t["task_id"] == task.task_id and not t["legacy"] for t in su2["tasks"]), "we synced the signed task from the reference")
    check(len(su2["control_events"]) == 2, "we synced both control events from the reference")

    # 5. Same reputation on both sides (Spore §9), and the same frontier.
    ours = {k: {kk: (float(v[kk]) if kk == "score" else v[kk]) for kk in v} for k, v in su2["reputation"].items()}
    theirs = rep_ref(ref)
    report["reputation_reference"] = theirs
    report["reputation_ours"] = ours
    check(ours == theirs, "reputation tables are identical")
    front_ref = [x.id for x in ref.graph.frontier_by_task(task.task_id)]
    front_ours = [x["id"] for x in su2["frontier"][task.task_id]["reference"]]
    report["frontier_reference"], report["frontier_ours"] = front_ref, front_ours
    check(front_ref == front_ours, "frontiers are identical")
    await ref.stop()
    report["failures"] = failures
    print(json.dumps(report, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    logging.basicConfig(level=os.environ.get("SPORE_LOG", "WARNING"), stream=sys.stderr)
    sys.exit(asyncio.run(main()))
