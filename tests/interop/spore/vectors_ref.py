"""Runs tests/vectors/spore/records.json through the REFERENCE classes (SporeMesh/Spore @ 25151fa) and prints what the
reference does with each case: closes (exception in from_json), cid, sig or ok. Usage:
  PYTHONPATH=$SPORE_REF /usr/bin/python3 tests/interop/spore/vectors_ref.py
Exit 1 if a case disagrees with the vector (schema_type cases must fail the reference's CID check, since they alter a
signed value, and are accepted by it otherwise)."""
import copy
import json
import sys

from spore.record import ExperimentRecord
from spore.task import TaskManifest

doc = json.load(open("tests/vectors/spore/records.json"))
bad = 0
for kind, cls in (("record", ExperimentRecord), ("task", TaskManifest)):
    for c in doc[kind]["cases"]:
        o = copy.deepcopy(doc[kind]["base"])
        o.update(c.get("set", {}))
        for k in c.get("remove", []):
            o.pop(k)
        try:
            r = cls.from_json(o)
        except Exception:
            got = "closes"
        else:
            idok = r.verify_cid() if kind == "record" else r.verify_id()
            got = "cid" if not idok else ("sig" if not r.verify_signature() else "ok")
        want = {None: "ok", "spore.cid_mismatch": "cid", "spore.signature_invalid": "sig", "spore.schema_type": "cid"}.get(
            c["want_error"], "closes")
        ok = got == want
        bad += not ok
        print(f"{'ok ' if ok else 'BAD'} {kind:6} reference={got:7} vector={c['want_error']} | {c['desc']}")
sys.exit(1 if bad else 0)
