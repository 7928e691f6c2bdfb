#!/usr/bin/env python3
"""Independent RFC 9162 reference (straight from the RFC text, using hashlib) that writes the Merkle test vectors.

Run: python3 tests/vectors/merkle/generate.py  (rewrites the *.json files next to it; output is deterministic).
Files (transparency-dev style: happy path plus mutated cases with `desc` and `want_error`):
  roots.json        leaves + MTH for every size 1..64
  inclusion.json    inclusion proofs (valid and tampered)
  consistency.json  consistency proofs (valid and tampered)
  rfc6962.json      the 8 standard CT test leaves with the root of every prefix
"""
import hashlib, json, os

def h(b): return hashlib.sha256(b).digest()
def leaf(d): return h(b"\x00" + d)
def node(l, r): return h(b"\x01" + l + r)

def k_of(n):
    k = 1
    while k * 2 < n: k *= 2
    return k

def mth(D):
    n = len(D)
    if n == 0: return h(b"")
    if n == 1: return leaf(D[0])
    k = k_of(n)
    return node(mth(D[:k]), mth(D[k:]))

def path(m, D):
    n = len(D)
    if n <= 1: return []
    k = k_of(n)
    if m < k: return path(m, D[:k]) + [mth(D[k:])]
    return path(m - k, D[k:]) + [mth(D[:k])]

def subproof(m, D, b):
    n = len(D)
    if m == n: return [] if b else [mth(D)]
    k = k_of(n)
    if m <= k: return subproof(m, D[:k], b) + [mth(D[k:])]
    return subproof(m - k, D[k:], False) + [mth(D[:k])]

def proof(m, D):
    if m == 0 or m == len(D): return []
    return subproof(m, D, True)

CT_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
leaves = [bytes.fromhex(x) for x in CT_LEAVES]
# Leaves 8..63: deterministic, of varying lengths (including empty), derived from SHA-256 of their index.
for i in range(8, 64):
    leaves.append(h(i.to_bytes(4, "big"))[: i % 33])
HEX = lambda b: b.hex()
here = os.path.dirname(os.path.abspath(__file__))

def flip(b, bit=0):
    x = bytearray(b); x[bit // 8] ^= 1 << (bit % 8); return bytes(x)

def write(name, obj):
    with open(os.path.join(here, name), "w") as f:
        json.dump(obj, f, indent=1); f.write("\n")

write("roots.json", {"desc": "MTH of every size 1..64, computed by generate.py (independent RFC 9162 reference on hashlib)", "leaves": [HEX(l) for l in leaves],
                     "roots": [{"tree_size": n, "root": HEX(mth(leaves[:n]))} for n in range(0, 65)]})

write("rfc6962.json", {"desc": "RFC 6962 test leaves used by certificate-transparency test data; roots computed with hashlib",
                       "leaves": CT_LEAVES,
                       "leaf_hashes": [HEX(leaf(l)) for l in leaves[:8]],
                       "roots": [{"tree_size": n, "root": HEX(mth(leaves[:n]))} for n in range(0, 9)]})

def inc_case(i, n, desc="valid", want_error=False, **over):
    c = {"desc": desc, "leaf_index": i, "tree_size": n, "leaf_hash": HEX(leaf(leaves[i])) if i < len(leaves) else HEX(h(b"x")),
         "root": HEX(mth(leaves[:n])), "path": [HEX(p) for p in path(i, leaves[:n])] if 0 <= i < n else [],
         "want_error": want_error}
    c.update(over); return c

inc = []
for n in range(1, 65):
    for i in range(n):
        if n <= 20 or i in (0, 1, n // 2, n - 2, n - 1):
            inc.append(inc_case(i, n))
for (i, n) in [(0, 1), (2, 3), (5, 8), (6, 7), (13, 37), (0, 64), (63, 64), (40, 41)]:
    good = inc_case(i, n)
    P = good["path"]
    if P:
        inc.append(dict(good, desc="first path hash bit-flipped", path=[HEX(flip(bytes.fromhex(P[0])))] + P[1:], want_error=True))
        inc.append(dict(good, desc="last path hash bit-flipped", path=P[:-1] + [HEX(flip(bytes.fromhex(P[-1]), 255))], want_error=True))
        inc.append(dict(good, desc="path truncated", path=P[:-1], want_error=True))
        inc.append(dict(good, desc="path reversed", path=P[::-1], want_error=len(P) > 1 and P != P[::-1]))
    inc.append(dict(good, desc="extra hash appended", path=P + [HEX(h(b"extra"))], want_error=True))
    inc.append(dict(good, desc="extra hash prepended", path=[HEX(h(b"extra"))] + P, want_error=True))
    inc.append(dict(good, desc="leaf hash bit-flipped", leaf_hash=HEX(flip(bytes.fromhex(good["leaf_hash"]), 7)), want_error=True))
    inc.append(dict(good, desc="root bit-flipped", root=HEX(flip(bytes.fromhex(good["root"]), 100)), want_error=True))
    inc.append(dict(good, desc="leaf data hashed without the 0x00 prefix", leaf_hash=HEX(h(leaves[i])), want_error=True))
    inc.append(dict(good, desc="index equals tree size", leaf_index=n, want_error=True))
    inc.append(dict(good, desc="negative index", leaf_index=-1, want_error=True))
    inc.append(dict(good, desc="tree size zero", tree_size=0, want_error=True))
    if n > 1:
        inc.append(dict(good, desc="index of a neighbour with the same proof", leaf_index=i ^ 1 if (i ^ 1) < n else i - 1, want_error=True))
    # A changed size is only detectable when it changes the path length: otherwise the same hashes legitimately fold
    # to the same root (a subtree hash stands in for a leaf), so such cases would not be tampering a verifier can see.
    for n2, what in ((n + 1, "larger"), (n - 1, "smaller")):
        if 0 < n2 and i < n2 and len(path(i, leaves[:n2])) != len(P):
            inc.append(dict(good, desc=f"tree size one {what} (path length differs)", tree_size=n2, want_error=True))
write("inclusion.json", {"desc": "Inclusion proofs, valid and tampered, computed by generate.py (independent RFC 9162 reference on hashlib)", "leaves": [HEX(l) for l in leaves], "cases": inc})

def con_case(m, n, desc="valid", want_error=False, **over):
    c = {"desc": desc, "size1": m, "size2": n, "root1": HEX(mth(leaves[:m])), "root2": HEX(mth(leaves[:n])),
         "path": [HEX(p) for p in proof(m, leaves[:n])], "want_error": want_error}
    c.update(over); return c

con = []
for n in range(0, 65):
    for m in range(0, n + 1):
        if n <= 20 or m in (0, 1, 2, n // 2, n - 1, n):
            con.append(con_case(m, n))
for (m, n) in [(1, 2), (3, 7), (4, 8), (6, 8), (5, 13), (32, 64), (31, 64), (7, 64), (1, 64)]:
    good = con_case(m, n)
    P = good["path"]
    con.append(dict(good, desc="first path hash bit-flipped", path=[HEX(flip(bytes.fromhex(P[0])))] + P[1:], want_error=True))
    con.append(dict(good, desc="last path hash bit-flipped", path=P[:-1] + [HEX(flip(bytes.fromhex(P[-1]), 200))], want_error=True))
    con.append(dict(good, desc="path truncated", path=P[:-1], want_error=True))
    con.append(dict(good, desc="extra hash appended", path=P + [HEX(h(b"extra"))], want_error=True))
    con.append(dict(good, desc="empty path", path=[], want_error=True))
    con.append(dict(good, desc="root1 bit-flipped", root1=HEX(flip(bytes.fromhex(good["root1"]), 9)), want_error=True))
    con.append(dict(good, desc="root2 bit-flipped", root2=HEX(flip(bytes.fromhex(good["root2"]), 9)), want_error=True))
    con.append(dict(good, desc="roots swapped", root1=good["root2"], root2=good["root1"], want_error=True))
    con.append(dict(good, desc="sizes swapped", size1=n, size2=m, want_error=True))
    if len(proof(m + 1, leaves[:n])) != len(P):
        con.append(dict(good, desc="size1 one larger (path length differs)", size1=m + 1, want_error=True))
    if len(proof(m, leaves[:n + 1])) != len(P):
        con.append(dict(good, desc="size2 one larger (path length differs)", size2=n + 1, want_error=True))
con.append(dict(con_case(5, 5), desc="equal sizes with different roots", root2=HEX(mth(leaves[:6])), want_error=True))
con.append(dict(con_case(5, 5), desc="equal sizes with a non-empty path", path=[HEX(h(b"x"))], want_error=True))
con.append(dict(con_case(0, 9), desc="size1 zero with a non-empty path", path=[HEX(h(b"x"))], want_error=True))
con.append(dict(con_case(3, 7), desc="negative size1", size1=-1, want_error=True))
write("consistency.json", {"desc": "Consistency proofs, valid and tampered, computed by generate.py (independent RFC 9162 reference on hashlib)", "leaves": [HEX(l) for l in leaves], "cases": con})
print(f"roots 65, inclusion {len(inc)}, consistency {len(con)}")
for r in range(1, 9): print(r, HEX(mth(leaves[:r])))
