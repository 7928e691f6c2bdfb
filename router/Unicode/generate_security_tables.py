#!/usr/bin/env python3
"""Generates SecurityTables.g.cs (run: python3 router/Unicode/generate_security_tables.py).

Inputs, committed verbatim next to this script (router/Unicode/ucd/), from the Unicode Character Database and
UTS #39 security data, version 17.0.0 (https://www.unicode.org/Public/17.0.0/ucd/ and
https://www.unicode.org/Public/security/17.0.0/; the copies here came from the public GitHub repository
texttics/texttics-site, which vendors them unchanged):
  - DerivedCoreProperties.txt: the Default_Ignorable_Code_Point set (zero-width characters, soft hyphen, bidi
    controls, variation selectors, tag characters, ...) that the router removes before matching;
  - confusables.txt: the UTS #39 prototype ("skeleton") of each confusable character.

Folding table (why it is not the bare UTS #39 mapping): the router matches lower-case text and leaves ASCII as it is
(so digits, punctuation and regex rules keep their meaning). For a non-ASCII letter c the table gives the first of
these that exists (see fold_candidate):
  1. the ASCII letter or digit with the same skeleton, of c's case, lower-cased: Cyrillic capital IE -> 'E' -> 'e';
     Greek capital IOTA -> 'I' -> 'i' (the bare skeleton is 'l', because UTS #39 confuses I and l);
  2. the same for c's other case: Greek small epsilon -> EPSILON -> 'E' -> 'e' (the bare skeleton is U+A793);
  3. when its skeleton is all ASCII, each of its characters mapped as in 1 (Cyrillic YU -> 'lO' -> 'io'); 4. the lower-cased skeleton of its lower case.
Only letters (general category L*) are folded, and only to letters, marks and digits, so folding never changes
where a word starts or ends. The table is closed (folding its output again changes nothing); the script checks it.
The NFD and case mappings come from Python's unicodedata (its version is recorded in the output); letters it does not
know are skipped.
"""
import os
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
UCD = os.path.join(HERE, 'ucd')


def version_of(path, marker):
    with open(path, encoding='utf-8') as f:
        for line in f:
            if marker in line:
                return line.strip()
    raise SystemExit(f'{path}: no line containing {marker!r}')


def read_dicp():
    ranges = []
    with open(os.path.join(UCD, 'DerivedCoreProperties.txt'), encoding='utf-8') as f:
        for line in f:
            body = line.split('#', 1)[0].strip()
            if not body:
                continue
            cps, prop = [x.strip() for x in body.split(';')[:2]]
            if prop != 'Default_Ignorable_Code_Point':
                continue
            lo, _, hi = cps.partition('..')
            ranges.append((int(lo, 16), int(hi or lo, 16)))
    ranges.sort()
    merged = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def read_confusables():
    proto = {}
    with open(os.path.join(UCD, 'confusables.txt'), encoding='utf-8-sig') as f:
        for line in f:
            body = line.split('#', 1)[0].strip()
            if not body:
                continue
            src, dst, _ = [x.strip() for x in body.split(';')]
            proto[int(src, 16)] = ''.join(chr(int(x, 16)) for x in dst.split())
    return proto


PROTO = read_confusables()


def skeleton(s):
    """UTS #39 skeleton: NFD, map each character to its prototype, NFD."""
    s = unicodedata.normalize('NFD', s)
    return unicodedata.normalize('NFD', ''.join(PROTO.get(ord(ch), ch) for ch in s))


def is_word(ch):
    return unicodedata.category(ch)[0] in 'LMN'


# ASCII letters and digits by skeleton: the characters a Latin-script user would type for a look-alike.
ASCII_BY_SKELETON = {}
for a in '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz':
    ASCII_BY_SKELETON.setdefault(skeleton(a), []).append(a)


def ascii_lookalike(ch, prefer_upper):
    """The ASCII letter or digit with the same skeleton as ch, preferring ch's case, lower-cased; None if there is none."""
    cands = ASCII_BY_SKELETON.get(skeleton(ch), [])
    groups = ([x for x in cands if x.isupper()], [x for x in cands if x.isdigit()], [x for x in cands if x.islower()])
    if not prefer_upper:
        groups = (groups[2], groups[1], groups[0])
    for g in groups:
        if g:
            return min(g).lower()
    return None


def fold_candidate(c):
    ch = chr(c)
    upper = ch != ch.lower()
    # 1. its own skeleton, matched to the ASCII character of the same case (Greek IOTA -> 'I' -> 'i', not 'l');
    # 2. the skeleton of its other case (Greek epsilon -> EPSILON -> 'E' -> 'e');
    # 3. a skeleton made only of ASCII (a multi-letter prototype);  4. the lower-cased skeleton as it is.
    for x, up in ((ch, upper), (ch.lower() if upper else ch.upper(), not upper)):
        if len(x) == 1 and (a := ascii_lookalike(x, up)) is not None:
            return a
    sk = skeleton(ch)
    if sk.isascii():
        # each prototype letter as the ASCII look-alike of c's case: Cyrillic capital YU -> 'lO' -> 'IO' -> 'io'
        return ''.join(ascii_lookalike(x, upper) or x for x in sk).lower()
    return skeleton(ch.lower()).lower()


fold = {}
for c in range(0x80, 0x110000):
    if 0xD800 <= c <= 0xDFFF:
        continue
    ch = chr(c)
    # The router decomposes (NFKD) before folding, so only letters that survive decomposition need an entry.
    if unicodedata.category(ch)[0] != 'L' or unicodedata.normalize('NFKD', ch) != ch:
        continue
    v = fold_candidate(c)
    if not v or v == ch.lower() or v == unicodedata.normalize('NFD', ch.lower()):
        continue
    if not all(is_word(x) for x in v):
        continue
    fold[c] = v


def apply(s):
    return ''.join(fold.get(ord(x), x) if ord(x) >= 0x80 else x for x in s)


# Close the table: fold the output until nothing changes (a prototype may itself be a foldable letter).
for _ in range(8):
    changed = False
    for c, v in list(fold.items()):
        w = unicodedata.normalize('NFD', apply(v))
        if w != v:
            fold[c] = w
            changed = True
    if not changed:
        break
else:
    raise SystemExit('fold table does not close')
for c, v in fold.items():
    assert apply(v) == v, (hex(c), v)

dicp = read_dicp()
conf_version = version_of(os.path.join(UCD, 'confusables.txt'), '# Version:').split(':', 1)[1].strip()
dcp_version = version_of(os.path.join(UCD, 'DerivedCoreProperties.txt'), 'DerivedCoreProperties-')
dcp_version = dcp_version.split('-', 1)[1].removesuffix('.txt')


def ints(values, per_line=16):
    values = list(values)
    return '\n'.join('        ' + ', '.join(str(v) for v in values[i:i + per_line]) + ','
                     for i in range(0, len(values), per_line))


keys = sorted(fold)
offsets, data = [], []
for k in keys:
    offsets.append(len(data))
    data.extend(ord(x) for x in fold[k])
offsets.append(len(data))

out = f"""// <auto-generated>
// Generated by router/Unicode/generate_security_tables.py. Do not edit by hand.
// Sources: Unicode {dcp_version} DerivedCoreProperties.txt (Default_Ignorable_Code_Point) and UTS #39 confusables.txt
// version {conf_version} (router/Unicode/ucd/); case and NFD mappings from Python unicodedata {unicodedata.unidata_version}.
// </auto-generated>
namespace Federation.Router.Unicode;

internal static partial class SecurityFold
{{
    /// <summary>Unicode version of the Default_Ignorable_Code_Point data.</summary>
    public const string IgnorableVersion = "{dcp_version}";

    /// <summary>Version of the UTS #39 confusables data.</summary>
    public const string ConfusablesVersion = "{conf_version}";

    /// <summary>Unicode version of the case and NFD mappings used to build the fold table.</summary>
    public const string CaseVersion = "{unicodedata.unidata_version}";

    // Default_Ignorable_Code_Point as sorted, merged, inclusive ranges: [start0, end0, start1, end1, ...].
    private static readonly int[] IgnorableRanges =
    [
{ints(x for r in dicp for x in r)}
    ];

    private static readonly int[] FoldKeys =
    [
{ints(keys)}
    ];

    private static readonly int[] FoldOffsets =
    [
{ints(offsets)}
    ];

    private static readonly int[] FoldData =
    [
{ints(data)}
    ];
}}
"""
path = os.path.join(HERE, 'SecurityTables.g.cs')
with open(path, 'w', encoding='utf-8', newline='\n') as f:
    f.write(out)
print(f'wrote {path}: {len(dicp)} ignorable ranges, {len(keys)} folded letters '
      f'(confusables {conf_version}, DerivedCoreProperties {dcp_version}, casing {unicodedata.unidata_version})',
      file=sys.stderr)
