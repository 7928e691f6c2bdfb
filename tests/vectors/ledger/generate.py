#!/usr/bin/env python3
"""Independent source of the frozen envelope and ledger vectors: Python's json + hashlib and Ed25519 from the
`cryptography` package (OpenSSL), none of the project's code. Writes frozen.json next to this file.

Run: python3 tests/vectors/ledger/generate.py  (deterministic: Ed25519 signatures are).
Rules reproduced from docs/formats.md: canonical JSON = sorted keys, no spaces, ASCII with lowercase \\u escapes
(the Spore / Python layout); an envelope signs canonical {"payload","signer","type"}, its id is SHA-256 of those bytes,
and it is stored as canonical {"id","payload","signature","signer","type"}; a ledger leaf hash is
SHA-256(0x00 || stored envelope bytes); an STH payload is {"root","timestamp","tree_size"}.
"""
import hashlib, json, os
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization


def canonical(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def seal(seed, type_, payload):
    key = Ed25519PrivateKey.from_private_bytes(seed)
    signer = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    signing = canonical({"payload": payload, "signer": signer, "type": type_})
    sig = key.sign(signing).hex()
    cid = hashlib.sha256(signing).hexdigest()
    stored = canonical({"id": cid, "payload": payload, "signature": sig, "signer": signer, "type": type_})
    return {"signer": signer, "id": cid, "signature": sig, "envelope": stored.decode("ascii")}


RFC8032_KEY1 = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
SEED_1_TO_32 = bytes(range(1, 33))

envelope = seal(RFC8032_KEY1, "fed.test", {"b": 1.0, "a": [1, "\u00e9"]})
entry = seal(SEED_1_TO_32, "test.entry", {"n": 1})
leaf_hash = hashlib.sha256(b"\x00" + entry["envelope"].encode("ascii")).hexdigest()
sth_payload = canonical({"tree_size": 1, "root": leaf_hash, "timestamp": 1700000000000}).decode("ascii")

out = {
    "desc": "Frozen envelope and ledger bytes computed by generate.py (Python hashlib + cryptography/OpenSSL Ed25519).",
    "envelope": dict(envelope, seed=RFC8032_KEY1.hex(), type="fed.test"),
    "ledger_entry": dict(entry, seed=SEED_1_TO_32.hex(), type="test.entry", leaf_hash=leaf_hash),
    "sth_payload": sth_payload,
}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "frozen.json"), "w", encoding="ascii") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
