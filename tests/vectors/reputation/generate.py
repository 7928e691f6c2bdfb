#!/usr/bin/env python3
"""Independent reference for `fed reputation compute` (seed §9.9), Python 3.11 standard library only.

Written from the formulas in docs/reputation.md, not from the C# code, and computed differently on purpose:
decay as 0.5 ** (age / half_life) instead of exp(-ln2 * age / half_life), sums with math.fsum, and the clip θ found
by bisection on the (increasing) top share instead of the closed-form water-filling the C# uses.

Run: python3 tests/vectors/reputation/generate.py   (rewrites compute.json next to it; deterministic output).
compute.json: {"cases": [{"desc", "scenario", "want": {"theta", "nodes": {NAME: {N, C, C_hat, R, weight}}}}
                         | {"desc", "scenario", "want_error": FIELD}]}
FIELD is the start of the field the error must name (e.g. "nodes.A.audits[0][1]", "w_max").
"""
import copy, json, math, os, random

KEYS = ["tau", "half_life", "kappa", "C0", "gamma", "beta", "stake0", "g_max", "w_max", "nodes"]


def node_row(node, sc):
    tau, h = sc["tau"], sc["half_life"]
    ws = [d * 0.5 ** ((tau - t) / h) for t, d, o in node["audits"]]
    n = math.fsum(ws)
    c = math.fsum(w * a[2] for w, a in zip(ws, node["audits"])) / n if n > 0 else 0.0
    k, c0 = sc["kappa"], sc["C0"]
    c_hat = (n * c + k * c0) / (n + k) if n + k > 0 else c0
    g = min(1 + sc["beta"] * math.log1p(node["stake"] / sc["stake0"]), sc["g_max"])
    r = c_hat * n ** sc["gamma"] * node["S"] * g
    return {"N": n, "C": c, "C_hat": c_hat, "R": r}


def max_share(rs, theta):
    clipped = [min(r, theta) for r in rs]
    return max(clipped) / math.fsum(clipped)


def clip(rs, w_max):
    pos = [r for r in rs if r > 0]
    if w_max * len(pos) < 1:
        raise ValueError("w_max")
    if max(pos) / math.fsum(pos) <= w_max:
        return None
    lo, hi = min(pos), max(pos)          # share at lo is 1/n <= w_max; at hi it is > w_max
    for _ in range(300):
        mid = (lo + hi) / 2
        if mid <= lo or mid >= hi:
            break
        if max_share(pos, mid) <= w_max:
            lo = mid
        else:
            hi = mid
    return lo


def compute(sc):
    names = sorted(sc["nodes"])
    rows = {n: node_row(sc["nodes"][n], sc) for n in names}
    rs = [rows[n]["R"] for n in names]
    theta = clip(rs, sc["w_max"])
    t = math.inf if theta is None else theta
    total = math.fsum(min(r, t) for r in rs)
    for n in names:
        rows[n]["weight"] = min(rows[n]["R"], t) / total if rows[n]["R"] > 0 else 0.0
    return {"theta": theta, "nodes": rows}


def seed_table():
    """The seed's §9.9 table: A, B (A's history 3 half-lives older), C (1000 trivial), D (caught colluding), 6 peers."""
    h = 30.0
    tau = 400.0
    a_hist = [[tau - 0.5 * i, 0.9, 1.0 if i % 25 != 0 else 0.0] for i in range(200)]  # 96% pass, last 100 days
    nodes = {
        "A": {"S": 1.0, "stake": 1000.0, "audits": a_hist},
        "B": {"S": 1.0, "stake": 1000.0, "audits": [[t - 3 * h, d, o] for t, d, o in a_hist]},
        "C": {"S": 1.0, "stake": 1000.0, "audits": [[tau - 0.1 * i, 0.05, 1.0] for i in range(1000)]},
        "D": {"S": 0.1, "stake": 0.0, "audits": a_hist},
    }
    for i in range(6):
        nodes[f"peer-{i}"] = {"S": 1.0, "stake": 500.0 * (i + 1),
                              "audits": [[tau - 2.0 * j, 0.7, 1.0 if (j + i) % 5 else 0.0] for j in range(60)]}
    return {"tau": tau, "half_life": h, "kappa": 10.0, "C0": 0.5, "gamma": 0.5, "beta": 0.5, "stake0": 1000.0,
            "g_max": 2.0, "w_max": 0.15, "nodes": nodes}


def random_scenario(rng, i):
    n = rng.randint(2, 14)
    w_max = rng.choice([0.1, 0.15, 0.2, 0.25, 0.5, 1.0, round(rng.uniform(0.05, 1.0), 6)])
    tau = round(rng.uniform(-100, 1000), 3)
    sc = {"tau": tau, "half_life": round(rng.uniform(0.5, 200), 4), "kappa": rng.choice([0, 1, 10, round(rng.uniform(0, 50), 3)]),
          "C0": round(rng.random(), 4), "gamma": rng.choice([0.5, round(rng.uniform(0.05, 0.95), 4)]),
          "beta": rng.choice([0, 0.5, round(rng.uniform(0, 3), 4)]), "stake0": rng.choice([1, 1000, round(rng.uniform(1, 5000), 2)]),
          "g_max": rng.choice([1, 2, round(rng.uniform(1, 4), 3)]), "w_max": w_max, "nodes": {}}
    for j in range(n):
        audits = []
        for _ in range(rng.choice([0, 1, 3, 10, 40])):
            audits.append([round(tau - rng.uniform(0, 300), 3), rng.choice([1, 0.05, round(rng.uniform(0.01, 1), 4)]),
                           rng.choice([0, 1, round(rng.random(), 4)])])
        sc["nodes"][f"n{j:02d}"] = {"S": rng.choice([1, 0.1, round(rng.random(), 4)]), "stake": rng.choice([0, 1000, round(rng.uniform(0, 1e5), 2)]),
                                    "audits": audits}
    n_pos = sum(1 for v in sc["nodes"].values() if node_row(v, sc)["R"] > 0)
    if n_pos and w_max * n_pos < 1 and i % 8 != 0:      # keep every 8th as a w_max·n < 1 case
        sc["w_max"] = min(1.0, round(1 / n_pos + rng.uniform(0, 0.3), 6))
        if sc["w_max"] * n_pos < 1:
            sc["w_max"] = 1.0
    return sc


def case(desc, sc):
    try:
        return {"desc": desc, "scenario": sc, "want": compute(sc)}
    except ValueError as e:
        return {"desc": desc, "scenario": sc, "want_error": str(e)}


def mutated(base):
    """Malformed inputs: each must be rejected with an error naming the field."""
    out = []

    def m(desc, field, f):
        sc = copy.deepcopy(base)
        f(sc)
        out.append({"desc": desc, "scenario": sc, "want_error": field})

    for k in KEYS:
        m(f"missing {k}", k, lambda s, k=k: s.pop(k))
    m("extra top-level key", "lambda", lambda s: s.__setitem__("lambda", 0.1))
    m("tau as a string", "tau", lambda s: s.__setitem__("tau", "400"))
    m("half_life zero", "half_life", lambda s: s.__setitem__("half_life", 0))
    m("half_life negative", "half_life", lambda s: s.__setitem__("half_life", -30))
    m("kappa negative", "kappa", lambda s: s.__setitem__("kappa", -1))
    m("C0 above 1", "C0", lambda s: s.__setitem__("C0", 1.5))
    m("gamma 1 (not sub-linear)", "gamma", lambda s: s.__setitem__("gamma", 1))
    m("gamma 0", "gamma", lambda s: s.__setitem__("gamma", 0))
    m("beta negative", "beta", lambda s: s.__setitem__("beta", -0.5))
    m("stake0 zero", "stake0", lambda s: s.__setitem__("stake0", 0))
    m("g_max below 1", "g_max", lambda s: s.__setitem__("g_max", 0.5))
    m("w_max zero", "w_max", lambda s: s.__setitem__("w_max", 0))
    m("w_max above 1", "w_max", lambda s: s.__setitem__("w_max", 1.2))
    m("w_max null", "w_max", lambda s: s.__setitem__("w_max", None))
    m("w_max boolean", "w_max", lambda s: s.__setitem__("w_max", True))
    m("nodes a list", "nodes", lambda s: s.__setitem__("nodes", []))
    m("node not an object", "nodes.A", lambda s: s["nodes"].__setitem__("A", 1))
    m("node missing S", "nodes.A.S", lambda s: s["nodes"]["A"].pop("S"))
    m("node missing stake", "nodes.A.stake", lambda s: s["nodes"]["A"].pop("stake"))
    m("node missing audits", "nodes.A.audits", lambda s: s["nodes"]["A"].pop("audits"))
    m("node extra key", "nodes.A.reputation", lambda s: s["nodes"]["A"].__setitem__("reputation", 5))
    m("S above 1", "nodes.A.S", lambda s: s["nodes"]["A"].__setitem__("S", 1.1))
    m("S negative", "nodes.A.S", lambda s: s["nodes"]["A"].__setitem__("S", -0.1))
    m("stake negative", "nodes.A.stake", lambda s: s["nodes"]["A"].__setitem__("stake", -1))
    m("audits an object", "nodes.A.audits", lambda s: s["nodes"]["A"].__setitem__("audits", {}))
    m("audit a pair", "nodes.A.audits[0]", lambda s: s["nodes"]["A"]["audits"].__setitem__(0, [1, 0.5]))
    m("audit of four", "nodes.A.audits[0]", lambda s: s["nodes"]["A"]["audits"].__setitem__(0, [1, 0.5, 1, 0]))
    m("audit time a string", "nodes.A.audits[1][0]", lambda s: s["nodes"]["A"]["audits"][1].__setitem__(0, "yesterday"))
    m("audit after tau", "nodes.A.audits[1][0]", lambda s: s["nodes"]["A"]["audits"][1].__setitem__(0, s["tau"] + 1))
    m("difficulty zero", "nodes.A.audits[2][1]", lambda s: s["nodes"]["A"]["audits"][2].__setitem__(1, 0))
    m("difficulty above 1", "nodes.A.audits[2][1]", lambda s: s["nodes"]["A"]["audits"][2].__setitem__(1, 1.01))
    m("outcome above 1", "nodes.A.audits[3][2]", lambda s: s["nodes"]["A"]["audits"][3].__setitem__(2, 2))
    m("outcome negative", "nodes.A.audits[3][2]", lambda s: s["nodes"]["A"]["audits"][3].__setitem__(2, -0.5))
    m("outcome null", "nodes.A.audits[3][2]", lambda s: s["nodes"]["A"]["audits"][3].__setitem__(2, None))
    return out


def main():
    rng = random.Random(20261202)
    cases = [case("seed table: A, B (3 half-lives older), C (1000 trivial), D (slashed), 6 peers", seed_table())]
    # Edge cases.
    one = {"tau": 10, "half_life": 5, "kappa": 10, "C0": 0.5, "gamma": 0.5, "beta": 0.5, "stake0": 1000, "g_max": 2, "w_max": 1,
           "nodes": {"solo": {"S": 1, "stake": 0, "audits": [[10, 1, 1], [5, 0.5, 0]]}}}
    cases.append(case("one node, w_max 1: nothing clipped, weight 1", one))
    eq = copy.deepcopy(one)
    eq["w_max"] = 0.25
    eq["nodes"] = {f"e{i}": {"S": 1, "stake": 100, "audits": [[10, 0.8, 1], [9, 0.8, 1]]} for i in range(4)}
    cases.append(case("four equal nodes, w_max·n = 1 exactly: equal shares, nothing clipped", eq))
    uneq = copy.deepcopy(eq)
    uneq["nodes"]["e0"]["stake"] = 100000
    cases.append(case("four unequal nodes, w_max·n = 1: all clipped to the smallest R", uneq))
    empty = copy.deepcopy(eq)
    empty["nodes"]["idle"] = {"S": 1, "stake": 5000, "audits": []}
    cases.append(case("a node without audits has N 0, C 0, C_hat C0, R 0 and weight 0", empty))
    idle_n = copy.deepcopy(empty)
    idle_n["w_max"] = 0.2
    cases.append(case("a node with R 0 is not counted in n: 0.2 × 4 < 1 is an error although 5 nodes are listed", idle_n))
    zero_k = copy.deepcopy(empty)
    zero_k["kappa"] = 0
    zero_k["w_max"] = 0.5
    cases.append(case("kappa 0: C_hat = C, and C0 for a node without evidence", zero_k))
    few = copy.deepcopy(eq)
    few["w_max"] = 0.2
    cases.append(case("w_max·n < 1 (0.2 × 4) is an error", few))
    none = copy.deepcopy(one)
    none["nodes"] = {}
    cases.append(case("no nodes: n = 0, w_max·n < 1 is an error", none))
    slashed_all = copy.deepcopy(eq)
    for v in slashed_all["nodes"].values():
        v["S"] = 0
    cases.append(case("every node S = 0: n = 0 is an error", slashed_all))
    old = copy.deepcopy(one)
    old["nodes"]["solo"]["audits"] = [[-1e6, 1, 1]]
    cases.append(case("evidence so old it underflows to N = 0: R 0, n 0 is an error", old))
    whale = copy.deepcopy(seed_table())
    whale["nodes"]["A"]["stake"] = 1e9
    whale["w_max"] = 0.1
    cases.append(case("seed table with w_max 0.1 and a whale stake (g capped at g_max)", whale))
    for i in range(40):
        cases.append(case(f"random scenario {i}", random_scenario(rng, i)))
    base = seed_table()
    base["nodes"] = {"A": {"S": 1, "stake": 10, "audits": [[390, 0.9, 1], [391, 0.9, 1], [392, 0.5, 0], [393, 0.7, 1]]},
                     **{f"p{i}": {"S": 1, "stake": 0, "audits": [[399, 0.5, 1]]} for i in range(7)}}
    cases.append(case("base of the malformed cases (valid)", base))
    cases += mutated(base)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "compute.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"cases": cases}, f, indent=1, sort_keys=False, allow_nan=False)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    main()
