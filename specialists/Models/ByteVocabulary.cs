using System.Globalization;

namespace Federation.Specialists.Models;

/// <summary>
/// The 260-token byte vocabulary of the project's tiny models (llama.cpp SPM tokenizer): id 0 <c>&lt;unk&gt;</c>
/// (UNKNOWN), 1 <c>&lt;s&gt;</c> and 2 <c>&lt;/s&gt;</c> (CONTROL), 3..258 <c>&lt;0x00&gt;</c>…<c>&lt;0xFF&gt;</c> (BYTE),
/// 259 <c>▁</c> U+2581 (NORMAL) so a space decodes to ' '. Any text tokenizes (byte fallback) and detokenizes back.
/// </summary>
public static class ByteVocabulary
{
    public const int UnknownId = 0;
    public const int BosId = 1;
    public const int EosId = 2;
    public const int FirstByteId = 3;
    public const int SpaceId = 259;
    public const int Size = 260;

    /// <summary>llama.cpp token types (<c>enum llama_token_type</c>).</summary>
    public const int TypeNormal = 1, TypeUnknown = 2, TypeControl = 3, TypeByte = 6;

    /// <summary>Token texts, by id.</summary>
    public static string[] Tokens()
    {
        var t = new string[Size];
        t[UnknownId] = "<unk>";
        t[BosId] = "<s>";
        t[EosId] = "</s>";
        for (var b = 0; b < 256; b++) t[FirstByteId + b] = "<0x" + b.ToString("X2", CultureInfo.InvariantCulture) + ">";
        t[SpaceId] = "\u2581";
        return t;
    }

    /// <summary>Token types, by id.</summary>
    public static int[] TokenTypes()
    {
        var t = new int[Size];
        t[UnknownId] = TypeUnknown;
        t[BosId] = TypeControl;
        t[EosId] = TypeControl;
        for (var b = 0; b < 256; b++) t[FirstByteId + b] = TypeByte;
        t[SpaceId] = TypeNormal;
        return t;
    }

    /// <summary>Scores (all zero: with no multi-character tokens there are no merges to rank).</summary>
    public static float[] Scores() => new float[Size];
}
