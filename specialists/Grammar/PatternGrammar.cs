using System.Globalization;
using System.Text;

namespace Federation.Specialists.Grammar;

/// <summary>
/// The regular-expression subset of JSON Schema <c>pattern</c> that becomes a grammar: literals, <c>.</c>, classes
/// (<c>[a-z0-9_]</c>, negated <c>[^…]</c>), <c>\d \w \s \D \W \S</c>, escaped punctuation, groups (<c>(…)</c>,
/// <c>(?:…)</c>), <c>|</c>, and the quantifiers <c>? * + {n} {n,} {n,m}</c> (lazy forms too); a leading <c>^</c> and a
/// trailing <c>$</c>. Characters are printable ASCII. The grammar writes strings that match the whole pattern, which also
/// satisfies JSON Schema's unanchored search. An unbounded quantifier repeats at most the bound's string length (at
/// least its minimum). Anything else (anchors inside, backreferences, lookaround, <c>\b</c>, Unicode classes) is refused.
/// </summary>
internal static class PatternGrammar
{
    internal abstract record RNode;
    internal sealed record RChars(bool[] Set) : RNode; // index = code point 0x20..0x7E
    internal sealed record RSeq(IReadOnlyList<RNode> Items) : RNode;
    internal sealed record RAlt(IReadOnlyList<RNode> Options) : RNode;
    internal sealed record RRep(RNode Item, int Min, int? Max) : RNode;

    private const int Lo = 0x20, Hi = 0x7E;

    public static RNode Parse(string pattern, string path)
    {
        var p = new Parser(pattern, path);
        var s = pattern;
        var start = s.StartsWith('^') ? 1 : 0;
        var end = s.Length;
        if (end > start && s[end - 1] == '$' && (end - 2 < start || s[end - 2] != '\\')) end--;
        p.Pos = start;
        p.End = end;
        var node = p.Alt();
        if (p.Pos != end) throw p.Error($"unexpected '{s[p.Pos]}' at {p.Pos}");
        return node;
    }

    private sealed class Parser(string s, string path)
    {
        public int Pos;
        public int End;

        public SchemaException Error(string why) =>
            new(path, $"the JSON Schema keyword 'pattern' is supported for a regular-expression subset only, and '{s}' is outside it ({why}); see docs/api.md");

        public RNode Alt()
        {
            var options = new List<RNode> { Seq() };
            while (Pos < End && s[Pos] == '|')
            {
                Pos++;
                options.Add(Seq());
            }
            return options.Count == 1 ? options[0] : new RAlt(options);
        }

        private RNode Seq()
        {
            var items = new List<RNode>();
            while (Pos < End && s[Pos] is not ('|' or ')'))
            {
                var atom = Atom();
                items.Add(Quantified(atom));
            }
            return items.Count == 1 ? items[0] : new RSeq(items);
        }

        private RNode Quantified(RNode atom)
        {
            if (Pos >= End) return atom;
            int min;
            int? max;
            switch (s[Pos])
            {
                case '*': min = 0; max = null; Pos++; break;
                case '+': min = 1; max = null; Pos++; break;
                case '?': min = 0; max = 1; Pos++; break;
                case '{':
                {
                    var close = s.IndexOf('}', Pos);
                    if (close < 0 || close >= End) throw Error("unclosed {");
                    var body = s[(Pos + 1)..close];
                    var parts = body.Split(',');
                    if (parts.Length is < 1 or > 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out min) || min > 1000)
                        throw Error($"bad repetition {{{body}}}");
                    if (parts.Length == 1) max = min;
                    else if (parts[1].Length == 0) max = null;
                    else if (int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var m) && m >= min && m <= 1000) max = m;
                    else throw Error($"bad repetition {{{body}}}");
                    Pos = close + 1;
                    break;
                }
                default: return atom;
            }
            if (Pos < End && s[Pos] == '?') Pos++; // lazy: the same strings
            if (Pos < End && s[Pos] is '*' or '+' or '?' or '{') throw Error("a quantifier cannot follow a quantifier");
            return new RRep(atom, min, max);
        }

        private RNode Atom()
        {
            var c = s[Pos];
            switch (c)
            {
                case '(':
                {
                    Pos++;
                    if (Pos + 1 < End && s[Pos] == '?')
                    {
                        if (s[Pos + 1] != ':') throw Error("lookaround and named groups are not supported");
                        Pos += 2;
                    }
                    var inner = Alt();
                    if (Pos >= End || s[Pos] != ')') throw Error("unclosed (");
                    Pos++;
                    return inner;
                }
                case '[': return Class();
                case '.': Pos++; return Set(ch => true);
                case '\\': Pos++; return Escape(inClass: false);
                case '^' or '$': throw Error("anchors are supported only at the start and end");
                case ')' or '*' or '+' or '?' or '{' or '}' or ']': throw Error($"unexpected '{c}'");
                default:
                    Pos++;
                    return Literal(c);
            }
        }

        private RNode Literal(char c)
        {
            if (c is < (char)Lo or > (char)Hi) throw Error($"the character U+{(int)c:X4} is not printable ASCII");
            return Set(ch => ch == c);
        }

        private RChars Escape(bool inClass)
        {
            if (Pos >= End) throw Error("a trailing backslash");
            var e = s[Pos++];
            return e switch
            {
                'd' => Set(char.IsAsciiDigit),
                'D' => Set(ch => !char.IsAsciiDigit(ch)),
                'w' => Set(ch => char.IsAsciiLetterOrDigit(ch) || ch == '_'),
                'W' => Set(ch => !(char.IsAsciiLetterOrDigit(ch) || ch == '_')),
                's' => Set(ch => ch == ' '), // the one printable whitespace; every string written still matches \s
                'S' => Set(ch => ch != ' '),
                _ when !char.IsAsciiLetterOrDigit(e) && e is >= (char)Lo and <= (char)Hi => Set(ch => ch == e),
                _ => throw Error($"the escape \\{e} is not supported{(inClass ? " in a class" : "")}"),
            };
        }

        private RChars Class()
        {
            Pos++; // [
            var negate = Pos < End && s[Pos] == '^';
            if (negate) Pos++;
            var set = new bool[Hi + 1];
            var first = true;
            while (Pos < End && (s[Pos] != ']' || first))
            {
                first = false;
                bool[] part;
                char? single = null;
                if (s[Pos] == '\\')
                {
                    Pos++;
                    var esc = Escape(inClass: true);
                    part = esc.Set;
                    var members = Enumerable.Range(Lo, Hi - Lo + 1).Where(i => esc.Set[i]).ToList();
                    if (members.Count == 1) single = (char)members[0];
                }
                else
                {
                    single = s[Pos++];
                    if (single is < (char)Lo or > (char)Hi) throw Error($"the character U+{(int)single:X4} is not printable ASCII");
                    part = Set(ch => ch == single).Set;
                }
                if (single is { } from && Pos + 1 < End && s[Pos] == '-' && s[Pos + 1] != ']')
                {
                    Pos++;
                    var to = s[Pos] == '\\' ? Escape2() : s[Pos++];
                    if (to < from || to > (char)Hi) throw Error($"bad range {from}-{to}");
                    for (var i = (int)from; i <= to; i++) set[i] = true;
                    continue;
                }
                for (var i = Lo; i <= Hi; i++) set[i] |= part[i];
            }
            if (Pos >= End) throw Error("unclosed [");
            Pos++; // ]
            var result = negate ? Set(ch => !set[ch]) : new RChars(set);
            if (!result.Set.Any(x => x)) throw Error("a class that matches no printable character");
            return result;
        }

        private char Escape2()
        {
            Pos++;
            if (Pos >= End) throw Error("a trailing backslash");
            var e = s[Pos++];
            if (char.IsAsciiLetterOrDigit(e)) throw Error($"a range cannot end in \\{e}");
            return e;
        }
    }

    private static RChars Set(Func<char, bool> member)
    {
        var set = new bool[Hi + 1];
        for (var i = Lo; i <= Hi; i++) set[i] = member((char)i);
        return new RChars(set);
    }

    /// <summary>Most bytes of the JSON string content (a <c>"</c> or <c>\</c> is written escaped, 2 bytes).</summary>
    public static long MaxBytes(RNode n, int unbounded) => n switch
    {
        RChars c => c.Set['"'] || c.Set['\\'] ? 2 : 1,
        RSeq q => q.Items.Sum(x => MaxBytes(x, unbounded)),
        RAlt a => a.Options.Max(x => MaxBytes(x, unbounded)),
        RRep r => Math.Min(1L << 30, (long)RepMax(r, unbounded) * MaxBytes(r.Item, unbounded)),
        _ => throw new InvalidOperationException(),
    };

    private static int RepMax(RRep r, int unbounded) => r.Max ?? Math.Max(r.Min, unbounded);

    /// <summary>The GBNF of the string content (between the quotes).</summary>
    public static string Gbnf(RNode n, int unbounded) => n switch
    {
        RChars c => CharClass(c),
        RSeq q => "(" + string.Join(" ", q.Items.Select(x => Gbnf(x, unbounded))) + ")",
        RAlt a => "(" + string.Join(" | ", a.Options.Select(x => Gbnf(x, unbounded))) + ")",
        RRep r => RepMax(r, unbounded) == 0 ? "\"\"" : $"{Gbnf(r.Item, unbounded)}{{{r.Min},{RepMax(r, unbounded)}}}",
        _ => throw new InvalidOperationException(),
    };

    private static string CharClass(RChars c)
    {
        var sb = new StringBuilder();
        for (var i = Lo; i <= Hi; i++)
        {
            if (!c.Set[i] || i == '"' || i == '\\') continue;
            var j = i;
            while (j + 1 <= Hi && c.Set[j + 1] && j + 1 != '"' && j + 1 != '\\') j++;
            sb.Append(CultureInfo.InvariantCulture, $"\\x{i:X2}");
            if (j > i) sb.Append(CultureInfo.InvariantCulture, $"-\\x{j:X2}");
            i = j;
        }
        var options = new List<string>();
        if (sb.Length > 0) options.Add($"[{sb}]");
        if (c.Set['"']) options.Add("\"\\\\\\\"\"");
        if (c.Set['\\']) options.Add("\"\\\\\\\\\"");
        return options.Count == 1 ? options[0] : "(" + string.Join(" | ", options) + ")";
    }
}
