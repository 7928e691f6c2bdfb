using System.Text;
using Federation.Memory.Policy;

namespace Federation.Memory.Tests;

public sealed class MemoryPolicyLoaderTests
{
    [Fact]
    public void The_shipped_policy_loads_and_matches_the_builtin_default()
    {
        var p = MemoryPolicyLoader.Load(Path.Combine(AppContext.BaseDirectory, "policies", "memory.yaml"));
        var d = MemoryPolicy.Default;
        Assert.Equal(d.Limits, p.Limits);
        Assert.Equal((d.UserCustodial, d.TopicCustodial, d.PublicCustodial, d.AnonymousRead), (p.UserCustodial, p.TopicCustodial, p.PublicCustodial, p.AnonymousRead));
        Assert.Equal(64, p.Cid.Length);
    }

    [Fact]
    public void Every_error_is_reported_with_file_line_and_column()
    {
        var e = Assert.Throws<MemoryPolicyException>(() => MemoryPolicyLoader.Parse(Encoding.UTF8.GetBytes("""
            version: 1
            limits:
              max_content_bytes: lots
            user:
              custodial: maybe
            colour: blue
            public:
              writers: ["not ok!"]
            """), "memory.yaml"));
        Assert.Equal(4, e.Errors.Count);
        Assert.Contains("memory.yaml:3:22: expected limits.max_content_bytes to be an integer", e.Message, StringComparison.Ordinal);
        Assert.Contains("memory.yaml:5:14: expected user.custodial to be true or false", e.Message, StringComparison.Ordinal);
        Assert.Contains("memory.yaml:6:1: unknown key \"colour\"", e.Message, StringComparison.Ordinal);
        Assert.Contains("memory.yaml:8:13: expected a user id in public.writers", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_or_unsupported_version_is_refused()
    {
        Assert.Contains("missing \"version\"", Assert.Throws<MemoryPolicyException>(() => MemoryPolicyLoader.Parse("user: {custodial: true}"u8.ToArray(), "m.yaml")).Message, StringComparison.Ordinal);
        Assert.Contains("m.yaml:1:10: expected version 1, found 2", Assert.Throws<MemoryPolicyException>(() => MemoryPolicyLoader.Parse("version: 2"u8.ToArray(), "m.yaml")).Message, StringComparison.Ordinal);
        var bad = Assert.Throws<MemoryPolicyException>(() => MemoryPolicyLoader.Parse("version: 1\nuser: {custodial: true\n"u8.ToArray(), "m.yaml")).Message;
        Assert.Matches(@"^m\.yaml:\d+:\d+: invalid YAML", bad);
    }
}
