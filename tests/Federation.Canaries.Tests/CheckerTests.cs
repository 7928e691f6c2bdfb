using System.Diagnostics;
using Federation.Canaries.Checkers;
using Federation.Registry.Crypto;
using Federation.Registry.Json;

namespace Federation.Canaries.Tests;

public sealed class CheckerTests
{
    private readonly CanaryChecker _checker = new();

    private static Canary A(string checker, string prompt = "q") => Canary.Create("t", CanaryClass.A, prompt, TestCanaries.Checker(checker), 0.5, 3);

    private Task<CheckOutcome> Check(Canary c, string answer) => _checker.CheckAsync(c, answer);

    [Fact]
    public async Task Exact_checker_trims_by_default_and_casefolds_on_request()
    {
        Assert.Equal(1, (await Check(A("""{"kind":"exact","expected":"Paris"}"""), "  Paris\n")).O);
        Assert.Equal(0, (await Check(A("""{"kind":"exact","expected":"Paris"}"""), "paris")).O);
        Assert.Equal(1, (await Check(A("""{"kind":"exact","expected":"Paris","normalize":"casefold"}"""), "PARIS ")).O);
        var none = await Check(A("""{"kind":"exact","expected":"Paris","normalize":"none"}"""), "Paris ");
        Assert.Equal(0, none.O);
        Assert.Contains("expected \"Paris\"", none.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("42", 1)]
    [InlineData("The answer is 42.0", 1)]
    [InlineData("41.995", 1)]
    [InlineData("first 42 then 43", 0)]
    [InlineData("4.2e1", 1)]
    [InlineData("no idea", 0)]
    public async Task Numeric_checker_reads_the_last_number_and_applies_the_tolerance(string answer, double o)
    {
        Assert.Equal(o, (await Check(A("""{"kind":"numeric","expected":42,"abs_tol":0.01}"""), answer)).O);
    }

    [Fact]
    public async Task Numeric_relative_tolerance_scales_with_the_expected_value()
    {
        var c = A("""{"kind":"numeric","expected":1000,"rel_tol":0.01}""");
        Assert.Equal(1, (await Check(c, "1009")).O);
        Assert.Equal(0, (await Check(c, "1011")).O);
    }

    [Fact]
    public async Task Regex_checker_matches_and_a_catastrophic_pattern_times_out_as_a_fail()
    {
        Assert.Equal(1, (await Check(A("""{"kind":"regex","pattern":"\\bO\\(n log n\\)","ignore_case":true}"""), "It runs in o(N LOG N) time")).O);
        var evil = A("""{"kind":"regex","pattern":"^(a+)+$","timeout_ms":50}""");
        var sw = Stopwatch.StartNew();
        var r = await Check(evil, new string('a', 40) + "!");
        Assert.Equal(0, r.O);
        Assert.Contains("did not finish within 50 ms", r.Detail, StringComparison.Ordinal);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
    }

    [Fact]
    public async Task Json_schema_checker_enforces_the_documented_subset()
    {
        var c = A("""
            {"kind":"json_schema","schema":{"type":"object","required":["name","tags"],"additionalProperties":false,
              "properties":{"name":{"type":"string"},"age":{"type":"integer"},"kind":{"enum":["cat","dog"]},"tags":{"type":"array","items":{"type":"string"}}}}}
            """);
        Assert.Equal(1, (await Check(c, "```json\n{\"name\":\"Rex\",\"age\":3,\"kind\":\"dog\",\"tags\":[\"a\"]}\n```")).O);
        Assert.Equal(1, (await Check(c, """{"name":"Rex","age":3.0,"tags":[]}""")).O);
        var missing = await Check(c, """{"name":"Rex"}""");
        Assert.Equal(0, missing.O);
        Assert.Contains("missing required property \"tags\"", missing.Detail, StringComparison.Ordinal);
        var extra = await Check(c, """{"name":"Rex","tags":[],"owner":"x"}""");
        Assert.Contains("additional property \"owner\"", extra.Detail, StringComparison.Ordinal);
        var badEnum = await Check(c, """{"name":"Rex","tags":[],"kind":"cow"}""");
        Assert.Contains("/kind", badEnum.Detail, StringComparison.Ordinal);
        var badItem = await Check(c, """{"name":"Rex","tags":["a",1]}""");
        Assert.Contains("/tags/1: expected string, found integer", badItem.Detail, StringComparison.Ordinal);
        Assert.Equal(0, (await Check(c, "not json")).O);
    }

    private const string AddProgram = """{"kind":"program","language":"python","entry":"add","tests":[{"args":[1,2],"expected":3},{"args":[-5,5],"expected":0},{"args":[2.5,0.5],"expected":3}],"timeout_ms":5000,"memory_mb":256}""";

    [Fact]
    public async Task Program_checker_runs_python_in_a_child_process_and_scores_the_share_of_tests_passed()
    {
        var c = A(AddProgram);
        var good = await Check(c, "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```\n");
        Assert.Equal(CheckStatus.Scored, good.Status);
        Assert.Equal(1, good.O);
        Assert.Equal("3/3 tests passed", good.Detail);
        var partial = await Check(c, "def add(a, b):\n    return int(a) + int(b)\n");
        Assert.Equal(2.0 / 3, partial.O, 12);
        Assert.Contains("test 2: returned 2", partial.Detail, StringComparison.Ordinal);
        var broken = await Check(c, "def add(a, b) return 1");
        Assert.Equal(0, broken.O);
        Assert.Contains("did not load (SyntaxError", broken.Detail, StringComparison.Ordinal);
        var raises = await Check(c, "def add(a, b):\n    raise ValueError('nope')\n");
        Assert.Contains("raised ValueError: nope", raises.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Program_checker_kills_code_that_runs_past_the_wall_clock_limit()
    {
        var c = A("""{"kind":"program","language":"python","entry":"f","tests":[{"args":[],"expected":1},{"args":[0],"expected":0}],"timeout_ms":1000}""");
        var sw = Stopwatch.StartNew();
        var r = await Check(c, "import time\ndef f(*a):\n    if a: return 0\n    time.sleep(30)\n");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15), $"took {sw.Elapsed}");
        Assert.Equal(0, r.O);
        Assert.Contains("1000 ms wall-clock limit", r.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Program_checker_enforces_the_memory_limit()
    {
        var c = A("""{"kind":"program","language":"python","entry":"f","tests":[{"args":[],"expected":1}],"memory_mb":64}""");
        var r = await Check(c, "def f():\n    x = bytearray(512 * 1024 * 1024)\n    return 1\n");
        Assert.Equal(0, r.O);
        Assert.Contains("MemoryError", r.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Program_checker_child_sees_no_expected_values_and_no_environment()
    {
        var c = A("""{"kind":"program","language":"python","entry":"f","tests":[{"args":[],"expected":"secret-expected-value"}]}""");
        Environment.SetEnvironmentVariable("FED_CANARY_TEST_LEAK", "leaked");
        var r = await Check(c, "import os\ndef f():\n    return open('tests.json').read() + '|' + os.environ.get('FED_CANARY_TEST_LEAK', 'clean')\n");
        Assert.Equal(0, r.O);
        Assert.DoesNotContain("secret-expected-value\"", r.Detail.Split("expected")[0], StringComparison.Ordinal);
        Assert.Contains("clean", r.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reference_checker_matches_a_signed_snapshot_and_refuses_a_tampered_one()
    {
        using var key = NodeKey.FromSeed(new byte[32]);
        var snap = CanaryChecker.SealSnapshot(new JsonObject { ["capital_fr"] = "Paris", ["boiling_c"] = 100 }, key);
        var c = Canary.Create("geo", CanaryClass.B, "Capital of France?", new JsonObject { ["kind"] = "reference", ["snapshot"] = snap.ToJson(), ["fact"] = "capital_fr" }, 0.3, 5);
        Assert.Equal(1, (await Check(c, "It is  PARIS.")).O);
        Assert.Equal(0, (await Check(c, "Lyon")).O);
        var tamperedJson = snap.ToJson();
        tamperedJson["payload"] = new JsonObject { ["facts"] = new JsonObject { ["capital_fr"] = "Lyon" } };
        var bad = Canary.Create("geo", CanaryClass.B, "Capital of France?", new JsonObject { ["kind"] = "reference", ["snapshot"] = tamperedJson, ["fact"] = "capital_fr" }, 0.3, 5);
        var r = await Check(bad, "Lyon");
        Assert.Equal(CheckStatus.Invalid, r.Status);
        Assert.Contains("does not verify", r.Detail, StringComparison.Ordinal);
        var wrongSigner = Canary.Create("geo", CanaryClass.B, "Capital?", new JsonObject { ["kind"] = "reference", ["snapshot"] = snap.ToJson(), ["fact"] = "capital_fr", ["signer"] = new string('a', 64) }, 0.3, 5);
        Assert.Equal(CheckStatus.Invalid, (await Check(wrongSigner, "Paris")).Status);
    }

    private sealed class FixedPanel(double o) : IPanelJudge
    {
        public Task<CheckOutcome> JudgeAsync(Canary canary, string answer, CancellationToken cancellationToken) => Task.FromResult(new CheckOutcome(o, "panel"));
    }

    [Fact]
    public async Task Class_c_is_deferred_without_a_panel_and_judged_by_one_when_given()
    {
        var c = Canary.Create("ethics", CanaryClass.C, "Is it fair?", TestCanaries.Checker("""{"kind":"panel","rubric":"balanced"}"""), 0.5, 3);
        Assert.Equal(CheckStatus.Deferred, (await Check(c, "yes")).Status);
        Assert.Equal(0.7, (await new CanaryChecker(panel: new FixedPanel(0.7)).CheckAsync(c, "yes")).O);
    }
}
