using System.Text;
using Federation.Bench.Fuzz;
using Federation.Router;
using Federation.Specialists.Gguf;

namespace Federation.Hardening.Tests;

/// <summary>Each crash the fuzz suite found, kept as an input that must now give the reader's typed error.</summary>
public sealed class FuzzRegressionTests
{
    [Fact]
    public void A_policy_whose_mapping_key_yamldotnet_cannot_represent_is_a_policy_error_not_an_argument_exception()
    {
        // Found by the policy-loader target: "tiers:\n  : gen{ral" repeated makes YamlDotNet throw ArgumentException
        // ("The current event is of an unsupported type") from the representation model.
        var text = "version: 1\ndefa#ult_topic: gen{ral\n" + string.Concat(Enumerable.Repeat("tiers:\n  : gen{ral\n", 20));
        var e = Assert.Throws<PolicyException>(() => PolicyLoader.Parse(Encoding.UTF8.GetBytes(text), "fuzz.yaml"));
        Assert.Contains("fuzz.yaml:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_known_unfixed_crash_still_reproduces_so_its_entry_is_removed_when_the_reader_is_fixed()
    {
        foreach (var target in FuzzTargets.All)
            foreach (var known in target.Known)
            {
                var e = Record.Exception(() => target.Run(known.Regression));
                Assert.True(e is not null && known.Matches(e),
                    $"{target.Name}: the known crash no longer reproduces ({e?.GetType().Name ?? "no exception"}); if the reader was fixed, " +
                    $"turn its entry into a regression test expecting the typed error and remove it from FuzzTargets. Note: {known.Note}");
            }
    }

    [Fact]
    public void A_gguf_tensor_table_entry_with_a_huge_shape_is_a_format_error_not_an_overflow()
    {
        // Found by the gguf target: a tensor of 2^63 elements made GgmlTypeTraits.ByteSize overflow (OverflowException).
        var input = Convert.FromBase64String(
            "R0dVRgMAAAABAAAAAAAAAAEAAAAAAAAADAAAAAAAAABnZW5lcmFsLnR5cGUIAAAABwAAAAAAAABhZGFwdGVyBgAAAAAAAABsb3JhX2EBAAAAAwAAAAAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAIA/AAAAQAAAQEAAAAAAAAAAAAAAAAAAAAAAAAAAAA==");
        var e = Assert.Throws<GgufFormatException>(() => GgufFile.Read(new MemoryStream(input), "fuzz.gguf"));
        Assert.Contains("lora_a", e.Message, StringComparison.Ordinal);
    }
}
