using System.Globalization;
using System.Numerics;

namespace Federation.Registry.Json;

/// <summary>The kind of a <see cref="JsonValue"/>. Integers and floats are different kinds (Spore notes §2.3–2.4).</summary>
public enum JsonKind
{
    Null,
    Bool,
    Int,
    Float,
    String,
    Array,
    Object,
}

/// <summary>
/// A JSON value as canonical JSON sees it: integers (<see cref="JsonInt"/>, arbitrary size) and floats
/// (<see cref="JsonFloat"/>, IEEE-754 double) are kept apart, because <c>1</c> and <c>1.0</c> hash differently.
/// </summary>
/// <remarks>
/// Arrays and objects are mutable so that code can build values with collection initializers; do not mutate a value
/// while another thread serializes it, and never put a container inside itself.
/// </remarks>
public abstract class JsonValue : IEquatable<JsonValue>
{
    private protected JsonValue()
    {
    }

    /// <summary>The kind of this value.</summary>
    public abstract JsonKind Kind { get; }

    /// <summary>The JSON <c>null</c>.</summary>
    public static JsonNull Null => JsonNull.Instance;

    /// <summary>The JSON <c>true</c>.</summary>
    public static JsonBool True => JsonBool.TrueValue;

    /// <summary>The JSON <c>false</c>.</summary>
    public static JsonBool False => JsonBool.FalseValue;

    /// <summary>Structural equality: same kind and same content (object key order does not matter; floats compare by bits, so NaN equals NaN and -0.0 differs from 0.0).</summary>
    public abstract bool Equals(JsonValue? other);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is JsonValue v && Equals(v);

    /// <inheritdoc/>
    public abstract override int GetHashCode();

    /// <summary>The canonical JSON text of this value (see <see cref="CanonicalJson"/>).</summary>
    public override string ToString() => CanonicalJson.SerializeToString(this);

    /// <summary>Returns the member <paramref name="key"/> of an object; throws if this is not an object or the key is missing.</summary>
    public JsonValue this[string key] => AsObject()[key];

    /// <summary>Returns the item at <paramref name="index"/> of an array; throws if this is not an array.</summary>
    public JsonValue this[int index] => AsArray()[index];

    /// <summary>This value as an object, or an <see cref="InvalidOperationException"/> that names the actual kind.</summary>
    public JsonObject AsObject() => this as JsonObject ?? throw WrongKind(JsonKind.Object);

    /// <summary>This value as an array, or an <see cref="InvalidOperationException"/> that names the actual kind.</summary>
    public JsonArray AsArray() => this as JsonArray ?? throw WrongKind(JsonKind.Array);

    /// <summary>The string value; throws if this is not a string.</summary>
    public string AsString() => (this as JsonString ?? throw WrongKind(JsonKind.String)).Value;

    /// <summary>The integer value; throws if this is not an integer (a float is not accepted).</summary>
    public BigInteger AsBigInteger() => (this as JsonInt ?? throw WrongKind(JsonKind.Int)).Value;

    /// <summary>The integer value as a long; throws if this is not an integer or it does not fit.</summary>
    public long AsInt64()
    {
        var v = AsBigInteger();
        if (v < long.MinValue || v > long.MaxValue)
            throw new InvalidOperationException($"expected an integer that fits in 64 bits, found {v}.");
        return (long)v;
    }

    /// <summary>The float value; throws if this is not a float (an integer is not accepted: the kinds differ when hashed).</summary>
    public double AsDouble() => (this as JsonFloat ?? throw WrongKind(JsonKind.Float)).Value;

    /// <summary>The boolean value; throws if this is not a boolean.</summary>
    public bool AsBool() => (this as JsonBool ?? throw WrongKind(JsonKind.Bool)).Value;

    private InvalidOperationException WrongKind(JsonKind expected) =>
        new($"expected a JSON {expected.ToString().ToLowerInvariant()}, found a {Kind.ToString().ToLowerInvariant()}.");

    /// <summary>A string (null becomes JSON null).</summary>
    public static implicit operator JsonValue(string? value) => value is null ? JsonNull.Instance : new JsonString(value);

    /// <summary>A boolean.</summary>
    public static implicit operator JsonValue(bool value) => value ? JsonBool.TrueValue : JsonBool.FalseValue;

    /// <summary>An integer.</summary>
    public static implicit operator JsonValue(int value) => new JsonInt(value);

    /// <summary>An integer.</summary>
    public static implicit operator JsonValue(long value) => new JsonInt(value);

    /// <summary>An integer.</summary>
    public static implicit operator JsonValue(ulong value) => new JsonInt(value);

    /// <summary>An integer of any size.</summary>
    public static implicit operator JsonValue(BigInteger value) => new JsonInt(value);

    /// <summary>A double always becomes a float, written with a fraction or exponent (<c>1.0</c>, never <c>1</c>).</summary>
    public static implicit operator JsonValue(double value) => new JsonFloat(value);
}

/// <summary>The JSON <c>null</c>.</summary>
public sealed class JsonNull : JsonValue
{
    internal static readonly JsonNull Instance = new();

    private JsonNull()
    {
    }

    /// <inheritdoc/>
    public override JsonKind Kind => JsonKind.Null;

    /// <inheritdoc/>
    public override bool Equals(JsonValue? other) => other is JsonNull;

    /// <inheritdoc/>
    public override int GetHashCode() => 0x6e756c6c;
}

/// <summary>A JSON boolean.</summary>
public sealed class JsonBool : JsonValue
{
    internal static readonly JsonBool TrueValue = new(true);
    internal static readonly JsonBool FalseValue = new(false);

    private JsonBool(bool value) => Value = value;

    /// <summary>The boolean.</summary>
    public bool Value { get; }

    /// <inheritdoc/>
    public override JsonKind Kind => JsonKind.Bool;

    /// <inheritdoc/>
    public override bool Equals(JsonValue? other) => other is JsonBool b && b.Value == Value;

    /// <inheritdoc/>
    public override int GetHashCode() => Value ? 1 : 2;
}

/// <summary>A JSON integer (a number token without <c>.</c>, <c>e</c> or <c>E</c>), of any size.</summary>
public sealed class JsonInt : JsonValue
{
    // Most integers fit in 64 bits; keeping them as a long avoids BigInteger work on the hot write path.
    private readonly long _small;
    private readonly BigInteger? _big;

    /// <summary>An integer that fits in 64 bits.</summary>
    public JsonInt(long value) => _small = value;

    /// <summary>An integer of any size.</summary>
    public JsonInt(BigInteger value)
    {
        if (value >= long.MinValue && value <= long.MaxValue) _small = (long)value;
        else _big = value;
    }

    /// <summary>The integer.</summary>
    public BigInteger Value => _big ?? _small;

    /// <summary>True when the value fits in a long (then <see cref="TryGetInt64"/> succeeds).</summary>
    public bool FitsInt64 => _big is null;

    /// <summary>The value as a long, if it fits.</summary>
    public bool TryGetInt64(out long value)
    {
        value = _small;
        return _big is null;
    }

    /// <inheritdoc/>
    public override JsonKind Kind => JsonKind.Int;

    /// <inheritdoc/>
    public override bool Equals(JsonValue? other) =>
        other is JsonInt i && (_big is null ? i._big is null && i._small == _small : i._big is { } b && b == _big.Value);

    /// <inheritdoc/>
    public override int GetHashCode() => _big?.GetHashCode() ?? _small.GetHashCode();
}

/// <summary>A JSON float (a number token with <c>.</c>, <c>e</c> or <c>E</c>, or NaN/Infinity), as an IEEE-754 double.</summary>
public sealed class JsonFloat(double value) : JsonValue
{
    /// <summary>The double (may be NaN, ±Infinity or -0.0, as in Python).</summary>
    public double Value { get; } = value;

    /// <inheritdoc/>
    public override JsonKind Kind => JsonKind.Float;

    /// <inheritdoc/>
    public override bool Equals(JsonValue? other) =>
        other is JsonFloat f && BitConverter.DoubleToInt64Bits(f.Value) == BitConverter.DoubleToInt64Bits(Value);

    /// <inheritdoc/>
    public override int GetHashCode() => BitConverter.DoubleToInt64Bits(Value).GetHashCode();
}

/// <summary>A JSON string (any sequence of UTF-16 code units, lone surrogates included, as Python allows).</summary>
public sealed class JsonString(string value) : JsonValue
{
    /// <summary>The string.</summary>
    public string Value { get; } = value ?? throw new ArgumentNullException(nameof(value));

    /// <inheritdoc/>
    public override JsonKind Kind => JsonKind.String;

    /// <inheritdoc/>
    public override bool Equals(JsonValue? other) => other is JsonString s && string.Equals(s.Value, Value, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);
}

/// <summary>A JSON array.</summary>
public sealed class JsonArray : JsonValue, IList<JsonValue>, IReadOnlyList<JsonValue>
{
    private readonly List<JsonValue> _items;

    /// <summary>An empty array.</summary>
    public JsonArray() => _items = [];

    /// <summary>An array of <paramref name="items"/> (a null item becomes JSON null).</summary>
    public JsonArray(IEnumerable<JsonValue?> items) => _items = items.Select(i => i ?? JsonNull.Instance).ToList();

    /// <summary>An array of <paramref name="items"/> (a null item becomes JSON null).</summary>
    public JsonArray(params JsonValue?[] items) : this((IEnumerable<JsonValue?>)items)
    {
    }

    /// <inheritdoc/>
    public override JsonKind Kind => JsonKind.Array;

    /// <inheritdoc/>
    public int Count => _items.Count;

    /// <inheritdoc/>
    public bool IsReadOnly => false;

    /// <inheritdoc/>
    public new JsonValue this[int index]
    {
        get => _items[index];
        set => _items[index] = value ?? JsonNull.Instance;
    }

    /// <inheritdoc/>
    public void Add(JsonValue item) => _items.Add(item ?? JsonNull.Instance);

    /// <inheritdoc/>
    public void Clear() => _items.Clear();

    /// <inheritdoc/>
    public bool Contains(JsonValue item) => _items.Contains(item);

    /// <inheritdoc/>
    public void CopyTo(JsonValue[] array, int arrayIndex) => _items.CopyTo(array, arrayIndex);

    /// <inheritdoc/>
    public int IndexOf(JsonValue item) => _items.IndexOf(item);

    /// <inheritdoc/>
    public void Insert(int index, JsonValue item) => _items.Insert(index, item ?? JsonNull.Instance);

    /// <inheritdoc/>
    public bool Remove(JsonValue item) => _items.Remove(item);

    /// <inheritdoc/>
    public void RemoveAt(int index) => _items.RemoveAt(index);

    /// <inheritdoc/>
    public List<JsonValue>.Enumerator GetEnumerator() => _items.GetEnumerator();

    IEnumerator<JsonValue> IEnumerable<JsonValue>.GetEnumerator() => _items.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => _items.GetEnumerator();

    /// <inheritdoc/>
    public override bool Equals(JsonValue? other)
    {
        if (other is not JsonArray a || a.Count != Count) return false;
        for (var i = 0; i < _items.Count; i++)
            if (!_items[i].Equals(a._items[i])) return false;
        return true;
    }

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Count);
        foreach (var i in _items) h.Add(i.GetHashCode());
        return h.ToHashCode();
    }
}

/// <summary>
/// A JSON object. Setting an existing key replaces its value (as a duplicate key does when parsing: the last wins).
/// Enumeration is in insertion order; canonical output sorts keys by Unicode code point.
/// </summary>
public sealed class JsonObject : JsonValue, IEnumerable<KeyValuePair<string, JsonValue>>
{
    private readonly Dictionary<string, JsonValue> _map;
    private readonly List<string> _order;
    private string[]? _sorted;
    private KeyValuePair<string, JsonValue>[]? _sortedMembers;

    /// <summary>An empty object.</summary>
    public JsonObject()
    {
        _map = new Dictionary<string, JsonValue>(StringComparer.Ordinal);
        _order = [];
    }

    /// <summary>An object with <paramref name="members"/> (a later duplicate key replaces an earlier one).</summary>
    public JsonObject(IEnumerable<KeyValuePair<string, JsonValue>> members) : this()
    {
        foreach (var (k, v) in members) this[k] = v;
    }

    /// <inheritdoc/>
    public override JsonKind Kind => JsonKind.Object;

    /// <summary>The number of members.</summary>
    public int Count => _order.Count;

    /// <summary>The keys in insertion order.</summary>
    public IReadOnlyList<string> Keys => _order;

    /// <summary>Gets the member <paramref name="key"/> (throws <see cref="KeyNotFoundException"/> naming the key when missing), or sets it (null becomes JSON null).</summary>
    public new JsonValue this[string key]
    {
        get => _map.TryGetValue(key, out var v) ? v : throw new KeyNotFoundException($"the JSON object has no member \"{key}\".");
        set
        {
            ArgumentNullException.ThrowIfNull(key);
            if (!_map.ContainsKey(key))
            {
                _order.Add(key);
                _sorted = null;
            }
            _sortedMembers = null;
            _map[key] = value ?? JsonNull.Instance;
        }
    }

    /// <summary>Adds or replaces the member <paramref name="key"/> (collection-initializer form).</summary>
    public void Add(string key, JsonValue? value) => this[key] = value!;

    /// <summary>Whether the object has a member <paramref name="key"/>.</summary>
    public bool ContainsKey(string key) => _map.ContainsKey(key);

    /// <summary>Gets the member <paramref name="key"/> if present.</summary>
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out JsonValue? value) => _map.TryGetValue(key, out value);

    /// <summary>Removes the member <paramref name="key"/>; returns whether it was present.</summary>
    public bool Remove(string key)
    {
        if (!_map.Remove(key)) return false;
        _order.Remove(key);
        _sorted = null;
        _sortedMembers = null;
        return true;
    }

    /// <summary>The keys sorted by Unicode code point (cached until the object changes).</summary>
    public IReadOnlyList<string> SortedKeys => GetSortedKeys();

    internal string[] GetSortedKeys()
    {
        var s = _sorted;
        if (s is null)
        {
            s = _order.ToArray();
            if (s.Length > 1) Array.Sort(s, CodePointComparer.Instance);
            _sorted = s;
        }
        return s;
    }

    /// <summary>Members sorted by key code point, cached until the object changes (the writer's hot path: no lookups).</summary>
    internal KeyValuePair<string, JsonValue>[] GetSortedMembers()
    {
        var m = _sortedMembers;
        if (m is null)
        {
            var keys = GetSortedKeys();
            m = new KeyValuePair<string, JsonValue>[keys.Length];
            for (var i = 0; i < keys.Length; i++) m[i] = new KeyValuePair<string, JsonValue>(keys[i], _map[keys[i]]);
            _sortedMembers = m;
        }
        return m;
    }

    /// <summary>A shallow copy (members in the same order) without the listed keys, e.g. to drop <c>id</c> and <c>signature</c> before hashing.</summary>
    public JsonObject Without(params string[] keys)
    {
        var copy = new JsonObject();
        foreach (var k in _order)
            if (Array.IndexOf(keys, k) < 0) copy[k] = _map[k];
        return copy;
    }

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, JsonValue>> GetEnumerator()
    {
        foreach (var k in _order) yield return new KeyValuePair<string, JsonValue>(k, _map[k]);
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc/>
    public override bool Equals(JsonValue? other)
    {
        if (other is not JsonObject o || o.Count != Count) return false;
        foreach (var (k, v) in _map)
            if (!o._map.TryGetValue(k, out var ov) || !v.Equals(ov)) return false;
        return true;
    }

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        // Order-independent, like Equals.
        var h = Count;
        foreach (var (k, v) in _map) h ^= HashCode.Combine(StringComparer.Ordinal.GetHashCode(k), v.GetHashCode());
        return h;
    }
}

/// <summary>
/// Orders strings by Unicode code point, as Python sorts <c>str</c>. Ordinal UTF-16 order differs for characters above
/// U+FFFF (a surrogate pair, 0xD800–0xDBFF first) against U+E000–U+FFFF; a lone surrogate counts as its own code point.
/// </summary>
public sealed class CodePointComparer : IComparer<string>
{
    /// <summary>The single instance.</summary>
    public static readonly CodePointComparer Instance = new();

    private CodePointComparer()
    {
    }

    /// <inheritdoc/>
    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return -1;
        if (y is null) return 1;
        var n = Math.Min(x.Length, y.Length);
        var i = x.AsSpan(0, n).CommonPrefixLength(y.AsSpan(0, n));
        if (i == n) return x.Length.CompareTo(y.Length);
        char a = x[i], b = y[i];
        if (!char.IsSurrogate(a) && !char.IsSurrogate(b))
            return a.CompareTo(b);
        // Decode whole code points from the start of a possibly shared surrogate pair and compare those.
        if (i > 0 && char.IsHighSurrogate(x[i - 1])) i--;
        int xi = i, yi = i;
        while (xi < x.Length && yi < y.Length)
        {
            var cx = CodePointAt(x, xi);
            var cy = CodePointAt(y, yi);
            if (cx != cy) return cx.CompareTo(cy);
            xi += cx > 0xFFFF ? 2 : 1;
            yi += cy > 0xFFFF ? 2 : 1;
        }
        return (x.Length - xi).CompareTo(y.Length - yi);
    }

    private static int CodePointAt(string s, int i)
    {
        var c = s[i];
        if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            return char.ConvertToUtf32(c, s[i + 1]);
        return c;
    }
}
