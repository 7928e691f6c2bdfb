#!/usr/bin/env python3
"""Generates the canonical-JSON vectors from Python itself (the reference the federation must match).

Each output file is {"desc": ..., "generator": ..., "cases": [{"desc", "input", "want", "want_cid"} | {"desc", "input", "want_error"}]}.
`input` is JSON text; `want` is json.dumps(json.loads(input), sort_keys=True, separators=(",", ":"), ensure_ascii=True);
`want_cid` is the lowercase hex SHA-256 of want's UTF-8 bytes. Run: python3 generate.py (Python 3.11, no packages).
"""
import hashlib
import json
import random
import struct
import sys


def canon(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def ok(desc, text):
    want = canon(json.loads(text))
    return {"desc": desc, "input": text, "want": want, "want_cid": hashlib.sha256(want.encode("utf-8")).hexdigest()}


def bad(desc, text):
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return {"desc": desc, "input": text, "want_error": True}
    raise SystemExit(f"expected python to reject {desc!r}: {text!r}")


def write(name, desc, cases):
    doc = {"desc": desc, "generator": f"generate.py (Python {sys.version.split()[0]})", "cases": cases}
    with open(name, "w", encoding="ascii", newline="\n") as f:
        # The vector files themselves are ASCII (ensure_ascii) so any JSON reader can load them.
        json.dump(doc, f, indent=1, ensure_ascii=True)
        f.write("\n")


def strings():
    c = []
    c.append(ok("plain ASCII", '"hello world"'))
    c.append(ok("characters not escaped by Python: / < > & '", '"a/b<c>d&e\'f"'))
    c.append(ok("escaped slash input becomes plain slash", '"a\\/b"'))
    c.append(ok("quote and backslash", '"say \\"hi\\" \\\\ bye"'))
    c.append(ok("short escapes \\n \\r \\t \\b \\f", '"\\n\\r\\t\\b\\f"'))
    for cp in range(0x20):
        c.append(ok(f"control character U+{cp:04X} given as escape", '"x\\u%04xy"' % cp))
    c.append(ok("DEL U+007F raw is escaped", '"a\x7fb"'))
    c.append(ok("DEL given as escape", '"\\u007f"'))
    c.append(ok("U+0080 raw", '"\u0080"'))
    c.append(ok("Latin-1 e acute raw", '"caf\u00e9"'))
    c.append(ok("BMP CJK raw", '"\u4e2d\u6587"'))
    c.append(ok("upper-case hex escape input is written lower-case", '"\\u00E9\\u4E2D"'))
    c.append(ok("U+FFFF raw", '"\uffff"'))
    c.append(ok("U+E000 private use raw", '"\ue000"'))
    c.append(ok("astral emoji raw becomes surrogate pair", '"\U0001F680"'))
    c.append(ok("astral emoji as escaped pair", '"\\ud83d\\ude80"'))
    c.append(ok("U+10000 raw", '"\U00010000"'))
    c.append(ok("U+10FFFF raw", '"\U0010FFFF"'))
    c.append(ok("lone high surrogate escape kept", '"\\ud800"'))
    c.append(ok("lone low surrogate escape kept", '"\\udc00"'))
    c.append(ok("reversed pair stays two lone surrogates", '"\\udc00\\ud800"'))
    c.append(ok("high surrogate followed by letter", '"\\ud800x"'))
    c.append(ok("empty string", '""'))
    c.append(ok("line separator U+2028 raw", '"\u2028"'))
    c.append(ok("BOM character inside string", '"\ufeff"'))
    c.append(ok("NUL escape", '"\\u0000"'))
    c.append(ok("all printable ASCII", json.dumps("".join(chr(i) for i in range(0x20, 0x7F)))))
    c.append(bad("raw control character in string", '"a\x01b"'))
    c.append(bad("raw newline in string", '"a\nb"'))
    c.append(bad("invalid escape \\x", '"\\x41"'))
    c.append(bad("short unicode escape", '"\\u12"'))
    c.append(bad("non-hex unicode escape", '"\\u12g4"'))
    c.append(bad("unterminated string", '"abc'))
    c.append(bad("single-quoted string", "'abc'"))
    return c


def numbers():
    c = []
    ints = ["0", "-0", "1", "-1", "42", "9007199254740993", "9223372036854775807", "9223372036854775808",
            "-9223372036854775808", "-9223372036854775809", "18446744073709551616",
            "123456789012345678901234567890123456789012345678901234567890", "-" + "9" * 300, "1" * 4300]
    for t in ints:
        c.append(ok(f"integer {t[:30]}{'...' if len(t) > 30 else ''}", t))
    floats = [
        "0.0", "-0.0", "-0e0", "0e0", "1.0", "1e0", "1E0", "-1.5", "0.5", "24576.0", "24000.0", "0.988", "9.8800e-1",
        "1e-4", "0.0001", "9.999e-5", "0.00009999", "1e-5", "3.5e-5", "1e15", "1e+15", "1000000000000000.0",
        "9999999999999998.0", "1e16", "1e+16", "10000000000000000.0", "12345678901234567890.0",
        "123456789012345678.0", "1e22", "1e23", "5e-324", "4.9406564584124654e-324", "2.2250738585072014e-308",
        "1.7976931348623157e308", "1.7976931348623158e308", "1387111251095746.75", "1387111251095746.25",
        "0.30000000000000004", "0.1", "0.2", "100.0", "123.456", "1.5e300", "-1.5e-300", "1E400", "-1E400",
        "1e-400", "-1e-400", "2.5", "0.000123", "123e-7", "1.2345678901234567e-5", "9007199254740993.0",
        "0.1e1", "3.0e-05", "1.0e+16", "99999999999999990.0", "9.999999999999999e15",
        "1.7976931348623157E+308",
    ]
    for t in floats:
        c.append(ok(f"float {t}", t))
    c.append(ok("sum 0.1+0.2 written by Python", repr(0.1 + 0.2)))
    c.append(ok("float literal with 800 digits", "0." + "3" * 800))
    c.append(ok("float literal with long integer part", "1" * 400 + ".5"))
    c.append(ok("exponent with many digits", "1e0000000000000000000000000000000005"))
    c.append(ok("negative exponent overflowing to zero", "1e-99999999999999999999"))
    c.append(ok("NaN literal", "NaN"))
    c.append(ok("Infinity literal", "Infinity"))
    c.append(ok("-Infinity literal", "-Infinity"))
    c.append(ok("floats and ints in an array keep their kinds", "[1, 1.0, -0, -0.0, 1e2, 100]"))
    for t in ["01", "-", "+1", ".5", "1.", "1.e5", "1e", "1e+", "0x10", "--1", "-NaN", "nan", "inf", "1" * 4301, "- 1", "1_000"]:
        c.append(bad(f"bad number {t[:20]}", t))
    return c


def random_floats():
    rng = random.Random(20261122)
    c = []
    for i in range(1500):
        bits = rng.getrandbits(64)
        x = struct.unpack("<d", struct.pack("<Q", bits))[0]
        if x != x or x in (float("inf"), float("-inf")):
            continue
        c.append(ok(f"random bits {bits:016x}", repr(x)))
    for i in range(500):
        # Short decimal strings near the layout and rounding boundaries, spelled with exponents.
        digits = rng.randint(1, 17)
        mant = rng.randint(10 ** (digits - 1), 10 ** digits - 1)
        exp = rng.randint(-30, 30)
        t = f"{mant}e{exp}"
        c.append(ok(f"decimal {t}", t))
    for e in range(-330, 310, 7):
        t = f"1e{e}"
        c.append(ok(f"power of ten {t}", t))
    # Ties: doubles exactly halfway between two shortest 17-digit candidates.
    for base in [1387111251095746.75, 1387111251095746.25, 2 ** 53 + 0.0, 4503599627370497.5]:
        c.append(ok(f"tie-prone value {base!r}", repr(base)))
    return c


def structures():
    c = []
    c.append(ok("empty object", "{}"))
    c.append(ok("empty array", "[]"))
    c.append(ok("literals", "[true,false,null]"))
    c.append(ok("whitespace everywhere is dropped", ' \t\n\r{ "b" : [ 1 , 2 ] ,\n "a" : { } } \n'))
    c.append(ok("keys sorted", '{"b":1,"a":2,"c":3}'))
    c.append(ok("nested keys sorted recursively", '{"z":{"y":1,"x":{"d":1,"c":2}},"a":[{"b":1,"a":2}]}'))
    c.append(ok("duplicate key: last wins", '{"a":1,"a":2}'))
    c.append(ok("duplicate key with different kinds: last wins", '{"a":{"x":1},"b":0,"a":[1.0]}'))
    c.append(ok("keys sort by code point: astral after U+FFFF, lone surrogate before U+E000",
                '{"\\uffff":1,"\\ud800\\udc00":2,"\\ue000":3,"\\ud800":4,"\\ud7ff":5,"z":6,"\\ud800x":7}'))
    c.append(ok("keys: prefix sorts first", '{"ab":1,"a":2,"":3,"abc":4}'))
    c.append(ok("keys: upper before lower", '{"a":1,"B":2,"_":3,"A":4}'))
    c.append(ok("keys with escapes", '{"a\\"b":1,"a\\\\b":2,"a\\nb":3}'))
    c.append(ok("emoji keys sort after BMP", '{"\U0001F680":1,"\u4e2d":2,"\uff01":3,"\U0001F600":4}'))
    c.append(ok("deeply nested arrays (100)", "[" * 100 + "]" * 100))
    c.append(ok("deeply nested objects (50)", '{"a":' * 50 + "1" + "}" * 50))
    c.append(ok("top-level string", '"x"'))
    c.append(ok("top-level number with whitespace", "  7  "))
    c.append(ok("float-valued object", '{"val_bpb":1.0,"peak_vram_mb":24000.0,"num_steps":10}'))
    for t, d in [("", "empty text"), ("{", "unterminated object"), ("[1,]", "trailing comma in array"),
                 ('{"a":1,}', "trailing comma in object"), ("{a:1}", "unquoted key"), ('{"a" 1}', "missing colon"),
                 ("[1 2]", "missing comma"), ("tru", "truncated literal"), ("True", "Python literal spelling"),
                 ("null null", "two values"), ("[1]x", "garbage after value"), ("/* c */ 1", "comment"),
                 ('{"a":1}}', "extra brace"), ("\u00a0 1", "non-JSON whitespace (NBSP)"), ('\ufeff{}', "BOM in text")]:
        c.append(bad(d, t))
    return c


def random_documents():
    """Random nested documents whose keys mix ASCII, BMP, astral and lone-surrogate characters."""
    rng = random.Random(4242)
    alphabet = ["a", "b", "Z", "_", "0", " ", "\"", "\\", "\n", "\x00", "\x1f", "\x7f", "\u00e9", "\u4e2d", "\ud7ff",
                "\ue000", "\uffff", "\U00010000", "\U0001F680", "\U0010FFFF", "\ud800", "\udfff", "\u2028"]

    def text():
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4)))

    def value(depth):
        r = rng.random()
        if depth > 3 or r < 0.35:
            return rng.choice([None, True, False, rng.randint(-10 ** 20, 10 ** 20), rng.randint(-5, 5),
                               rng.uniform(-1e6, 1e6), rng.random() * 10 ** rng.randint(-8, 20), float(rng.randint(0, 100)),
                               text()])
        if r < 0.6:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return {text(): value(depth + 1) for _ in range(rng.randint(0, 6))}

    cases = []
    for i in range(120):
        doc = {text(): value(1) for _ in range(rng.randint(1, 6))}
        # Unsorted keys, default separators, escapes for everything non-ASCII (so lone surrogates survive in the file).
        cases.append(ok(f"random document {i}", json.dumps(doc, ensure_ascii=True)))
    return cases


def spore():
    rec = {
        "agent_model": "none", "code_cid": "caf026f25d7140209f98072605307a438914b9ce6f3c14b23d15d9667241de52",
        "cuda_version": "", "dataset_cid": "", "depth": 0, "description": "caf\u00e9", "diff": "", "gpu_model": "CPU",
        "hypothesis": "", "node_id": "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "num_params": 1000, "num_steps": 10, "parent": None, "peak_vram_mb": 0.5, "prepare_cid": "", "status": "keep",
        "task_id": "92a44074a30e994cb58a6d4d7b2e340ab27872237156d48209e35c073c8dbf0a", "time_budget": 300,
        "timestamp": 1700000060, "torch_version": "", "val_bpb": 1.0, "version": 2,
    }
    # Unsorted, indented, as a peer might send it.
    text = json.dumps(dict(reversed(list(rec.items()))), indent=2, ensure_ascii=False)
    case = ok("Spore worked example (notes 3.3): experiment record, id must be 013d3638...", text)
    assert case["want_cid"] == "013d36389ac3e1006f9dc4c6e08abf5e6349b4264507046b14fbf1a4c51617f6", case["want_cid"]
    task = {"name": "doc-example", "description": "Worked example \u2014 not a test vector", "task_type": "ml_train",
            "artifact_type": "python_train_script", "metric": "val_bpb", "goal": "minimize", "base_code_cid": "",
            "prepare_cid": "", "dataset_cid": "", "time_budget": 300,
            "created_by": "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "timestamp": 1700000000, "version": 1}
    case2 = ok("Spore worked example (notes 4.3): task manifest, task_id must be 92a44074...", json.dumps(task))
    assert case2["want_cid"] == "92a44074a30e994cb58a6d4d7b2e340ab27872237156d48209e35c073c8dbf0a", case2["want_cid"]
    return [case, case2]


write("strings.json", "String escaping: ensure_ascii, lowercase \\u hex, DEL, surrogates, errors.", strings())
write("numbers.json", "Integers vs floats, Python float repr layout, NaN/Infinity, errors.", numbers())
write("floats-random.json", "Random doubles and decimal strings: shortest round-trip digits in Python layout.", random_floats())
write("structures.json", "Objects, arrays, key order by code point, duplicates, whitespace, errors.", structures())
write("documents-random.json", "Random nested documents: key order by code point with astral and lone-surrogate keys.", random_documents())
write("spore.json", "Spore worked examples from notes/spore-protocol.md 3.3 and 4.3.", spore())
print("ok")
