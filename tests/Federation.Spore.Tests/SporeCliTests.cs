using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Federation.Canaries.Spore;
using Federation.Node;
using Federation.Node.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Federation.Spore.Tests;

/// <summary><c>fed spore propose|verify</c> against a real node host (HTTP on loopback) run with the Spore peer.</summary>
public sealed class SporeCliTests
{
    private static (int Code, string Out, string Err) Fed(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = FedCli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public async Task Propose_asks_the_specialist_then_takes_an_answer_file_and_bad_input_is_a_clear_error()
    {
        var dir = Path.Combine(Path.GetTempPath(), "spore-cli-" + Guid.NewGuid().ToString("N")[..8]);
        int port;
        using (var l = new TcpListener(IPAddress.Loopback, 0))
        {
            l.Start();
            port = ((IPEndPoint)l.LocalEndpoint).Port;
        }
        var app = NodeHost.Build(new NodeOptions { DataDir = dir, Urls = "http://127.0.0.1:0", SporeListen = new IPEndPoint(IPAddress.Loopback, port) },
            logging => logging.AddFilter(_ => false));
        await app.StartAsync();
        var answerFile = Path.Combine(Path.GetTempPath(), "spore-answer-" + Guid.NewGuid().ToString("N")[..8] + ".txt");
        try
        {
            await app.Services.GetRequiredService<RuntimeHolder>().Started.WaitAsync(TimeSpan.FromMinutes(2));
            var url = app.Urls.First();

            // The endpoint refuses bad bodies with OpenAI-shaped errors naming the field.
            using (var http = new HttpClient { BaseAddress = new Uri(url) })
            {
                foreach (var (body, status, codeName, param) in new[]
                {
                    ("{not json", 400, "spore.bad_body", (string?)null),
                    ("[1]", 400, "spore.bad_body", null),
                    ("{}", 400, "spore.missing_field", "task"),
                    ("{\"task\":7}", 400, "spore.bad_field", "task"),
                    ("{\"task\":\"rosenbrock-10d\",\"topic\":\"no-such-topic\"}", 400, "spore.route_refused", "topic"),
                })
                {
                    using var resp = await http.PostAsync("/v1/federation/spore/propose", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
                    var err = JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
                    Assert.Equal((status, codeName), ((int)resp.StatusCode, err.GetProperty("code").GetString()));
                    if (param is not null) Assert.Equal(param, err.GetProperty("param").GetString());
                }
            }
            // Not even the baseline was published for the refused topic (checked before any record is signed).
            Assert.Equal(0, app.Services.GetRequiredService<Federation.Node.Cli.SporeHostedService>().Node!.Read(g => g.Records.Count));

            // The routed specialist (tiny random base) gives no usable proposal: an honest crash record, exit 0.
            var (code, stdout, stderr) = await Task.Run(() => Fed("spore", "propose", "--task", "rosenbrock-10d", "--url", url, "--output", "json"));
            Assert.True(code == 0, stderr);
            var r = JsonDocument.Parse(stdout).RootElement;
            Assert.Equal(("crash", "code-qwen", "spore-rosenbrock-10d"), (r.GetProperty("outcome").GetString(), r.GetProperty("specialist").GetString(), r.GetProperty("topic").GetString()));
            Assert.StartsWith("no line of the form NAME = NUMBER", r.GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.Equal(JsonValueKind.String, r.GetProperty("baseline_id").ValueKind);
            var taskId = r.GetProperty("task_id").GetString()!;

            // An answer file: kept, text output names the change.
            await File.WriteAllTextAsync(answerFile, "MOMENTUM = 0.9\n");
            (code, stdout, stderr) = await Task.Run(() => Fed("spore", "propose", "--task", taskId, "--answer", answerFile, "--url", url));
            Assert.True(code == 0, stderr);
            Assert.StartsWith("keep ", stdout, StringComparison.Ordinal);
            Assert.Contains("changes: MOMENTUM 0.5 -> 0.9", stdout, StringComparison.Ordinal);
            var keepId = stdout.Split(' ')[1];
            Assert.Equal(RecordStatus.Keep, app.Services.GetRequiredService<Federation.Node.Cli.SporeHostedService>().Node!.Read(g => g.GetRecord(keepId))!.Status);

            // Unknown task: 404 from the node → one line, exit 2; nothing published.
            var before = app.Services.GetRequiredService<Federation.Node.Cli.SporeHostedService>().Node!.Read(g => g.Records.Count);
            (code, _, stderr) = await Task.Run(() => Fed("spore", "propose", "--task", "no-such-task", "--url", url));
            Assert.Equal(2, code);
            Assert.Contains("404: No task 'no-such-task' on this node", stderr, StringComparison.Ordinal);
            Assert.Equal(before, app.Services.GetRequiredService<Federation.Node.Cli.SporeHostedService>().Node!.Read(g => g.Records.Count));
            // Unknown experiment for verify: exit 2 with the reason.
            (code, _, stderr) = await Task.Run(() => Fed("spore", "verify", new string('0', 64), "--url", url));
            Assert.Equal(2, code);
            Assert.Contains("No experiment 0000", stderr, StringComparison.Ordinal);
            // Nobody listening: exit 1, says what to check.
            (code, _, stderr) = await Task.Run(() => Fed("spore", "propose", "--task", "x", "--url", "http://127.0.0.1:1"));
            Assert.Equal(1, code);
            Assert.Contains("could not reach http://127.0.0.1:1", stderr, StringComparison.Ordinal);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            File.Delete(answerFile);
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }
}
