#!/usr/bin/env python3
"""Generates mutations.json: mutated RFC 8032 vectors, each with the reason a strict (libsodium-like) verifier gives.

want_error is the name of the C# SignatureFailure value; a case without want_error must verify. Reasons are checked in
this order: lengths, S >= L, public key y >= p, public key small order, R y >= p, R small order, then the curve
equation (undecodable public key, then undecodable R), then Mismatch. Run: python3 generate.py
"""
import json

P = 2 ** 255 - 19
L = 2 ** 252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
SMALL_ORDER_Y = [0, 1, P - 1, P, P + 1,
                 2707385501144840649318225287225658788936804267575313519463743609750303402022,
                 55188659117513257062467267217118295137698188065244968500265048394206261417927]


def y_of(enc):
    return int.from_bytes(enc, "little") & ((1 << 255) - 1)


def decodes(enc):
    y = y_of(enc)
    if y >= P:
        return False
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return enc[31] & 0x80 == 0
    return pow(x2, (P - 1) // 2, P) == 1


def reason(pk, msg, sig, valid_if_well_formed):
    if len(pk) != 32:
        return "PublicKeyLength"
    if len(sig) != 64:
        return "SignatureLength"
    if int.from_bytes(sig[32:], "little") >= L:
        return "SignatureSNotCanonical"
    if y_of(pk) >= P:
        return "PublicKeyNotCanonical"
    if y_of(pk) in SMALL_ORDER_Y:
        return "PublicKeySmallOrder"
    if y_of(sig[:32]) >= P:
        return "SignatureRNotCanonical"
    if y_of(sig[:32]) in SMALL_ORDER_Y:
        return "SignatureRSmallOrder"
    if not decodes(pk):
        return "PublicKeyMalformed"
    if not decodes(sig[:32]):
        return "SignatureRMalformed"
    return None if valid_if_well_formed else "Mismatch"


def flip(b, byte, bit):
    b = bytearray(b)
    b[byte] ^= 1 << bit
    return bytes(b)


cases = []


def add(desc, pk, msg, sig, valid=False):
    r = reason(pk, msg, sig, valid)
    c = {"desc": desc, "public_key": pk.hex(), "message": msg.hex(), "signature": sig.hex()}
    if r:
        c["want_error"] = r
    cases.append(c)


base = json.load(open("rfc8032.json"))["cases"]
for v in base:
    pk, msg, sig = bytes.fromhex(v["public_key"]), bytes.fromhex(v["message"]), bytes.fromhex(v["signature"])
    name = v["desc"].split(" (")[0]
    add(f"{name}: unmodified", pk, msg, sig, valid=True)
    for byte, bit in [(0, 0), (5, 3), (31, 6)]:
        add(f"{name}: R byte {byte} bit {bit} flipped", pk, msg, flip(sig, byte, bit))
    for byte, bit in [(32, 0), (40, 7), (62, 1)]:
        add(f"{name}: S byte {byte} bit {bit} flipped", pk, msg, flip(sig, byte, bit))
    add(f"{name}: message bit flipped" if msg else f"{name}: byte appended to empty message",
        pk, flip(msg, len(msg) // 2, 0) if msg else b"\x00", sig)
    for byte, bit in [(0, 0), (16, 4), (31, 7)]:
        add(f"{name}: public key byte {byte} bit {bit} flipped", flip(pk, byte, bit), msg, sig)
    s = int.from_bytes(sig[32:], "little")
    if s + L < 2 ** 256:
        add(f"{name}: S replaced by S+L (malleated, same value mod L)", pk, msg, sig[:32] + (s + L).to_bytes(32, "little"))
    add(f"{name}: signature truncated to 63 bytes", pk, msg, sig[:63])
    add(f"{name}: signature extended to 65 bytes", pk, msg, sig + b"\x00")
    add(f"{name}: public key truncated to 31 bytes", pk[:31], msg, sig)

msg = b"federation"
identity = (1).to_bytes(32, "little")
zero_s = bytes(32)
for y in SMALL_ORDER_Y:
    for sign in (0, 1):
        enc = bytearray(y.to_bytes(32, "little"))
        enc[31] |= sign << 7
        add(f"small-order public key y={y if y < 2 else hex(y)[:14]} sign={sign}, R=identity, S=0 (passes plain RFC 8032)",
            bytes(enc), msg, identity + zero_s)
pk1 = bytes.fromhex(base[0]["public_key"])
sig1 = bytes.fromhex(base[0]["signature"])
for y in SMALL_ORDER_Y:
    add(f"small-order R y={y if y < 2 else hex(y)[:14]} with a valid key", pk1, b"", y.to_bytes(32, "little") + sig1[32:])
for off in (2, 5, 18):
    add(f"public key with y = p+{off} (non-canonical)", (P + off).to_bytes(32, "little"), b"", sig1)
add("R with y = p+3 (non-canonical)", pk1, b"", (P + 3).to_bytes(32, "little") + sig1[32:])
# The smallest y whose x^2 has no square root: not a point at all.
y = 2
while decodes(y.to_bytes(32, "little")):
    y += 1
add(f"public key y={y} is not on the curve", y.to_bytes(32, "little"), b"", sig1)
add(f"R y={y} is not on the curve", pk1, b"", y.to_bytes(32, "little") + sig1[32:])
add("S = L exactly", pk1, b"", sig1[:32] + L.to_bytes(32, "little"))
add("S = 2^256-1", pk1, b"", sig1[:32] + b"\xff" * 32)
add("all-zero signature", pk1, b"", bytes(64))
add("signature of TEST 1 checked against TEST 2's key", bytes.fromhex(base[1]["public_key"]), b"", sig1)

with open("mutations.json", "w", encoding="ascii", newline="\n") as f:
    json.dump({"desc": "Mutated Ed25519 cases with the reason a strict verifier refuses them (generate.py).",
               "cases": cases}, f, indent=1)
    f.write("\n")
print(len(cases), "cases;", sum(1 for c in cases if "want_error" not in c), "valid")
