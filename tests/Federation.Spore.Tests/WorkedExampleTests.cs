using System.Text;
using Federation.Canaries.Spore;
using Federation.Registry.Json;

namespace Federation.Spore.Tests;

public class WorkedExampleTests
{
    private const string RecordCanonical =
        "{\"agent_model\":\"none\",\"code_cid\":\"caf026f25d7140209f98072605307a438914b9ce6f3c14b23d15d9667241de52\",\"cuda_version\":\"\",\"dataset_cid\":\"\",\"depth\":0,\"description\":\"caf\\u00e9\",\"diff\":\"\",\"gpu_model\":\"CPU\",\"hypothesis\":\"\",\"node_id\":\"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\",\"num_params\":1000,\"num_steps\":10,\"parent\":null,\"peak_vram_mb\":0.5,\"prepare_cid\":\"\",\"status\":\"keep\",\"task_id\":\"92a44074a30e994cb58a6d4d7b2e340ab27872237156d48209e35c073c8dbf0a\",\"time_budget\":300,\"timestamp\":1700000060,\"torch_version\":\"\",\"val_bpb\":1.0,\"version\":2}";

    private const string TaskCanonical =
        "{\"artifact_type\":\"python_train_script\",\"base_code_cid\":\"\",\"created_by\":\"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\",\"dataset_cid\":\"\",\"description\":\"Worked example \\u2014 not a test vector\",\"goal\":\"minimize\",\"metric\":\"val_bpb\",\"name\":\"doc-example\",\"prepare_cid\":\"\",\"task_type\":\"ml_train\",\"time_budget\":300,\"timestamp\":1700000000,\"version\":1}";

    [Fact]
    public void Record_of_section_3_3_has_the_canonical_bytes_id_and_signature_of_the_notes()
    {
        var r = TestKeys.ExampleRecord();
        Assert.Equal(RecordCanonical, Encoding.ASCII.GetString(r.CanonicalBytes()));
        Assert.Equal("013d36389ac3e1006f9dc4c6e08abf5e6349b4264507046b14fbf1a4c51617f6", r.Id);
        Assert.Equal("5fbb9715330a52f2124640ab85c96159a8dda6f6ac0650d9b8346d87943ce2562b5ef4588eb048d13dcced83c862f4ff7fb288c0626f0b066dd06fef2195d20b",
            r.Json["signature"].AsString());
        Assert.Null(r.Verify());
    }

    [Fact]
    public void Record_of_section_3_3_frames_to_801_bytes_with_prefix_00000321_and_sorted_keys()
    {
        var frame = Messages.Experiment(TestKeys.ExampleRecord()).ToFrame();
        Assert.Equal("00000321", Convert.ToHexStringLower(frame.AsSpan(0, 4)));
        Assert.Equal(801, frame.Length - 4);
        var body = Encoding.ASCII.GetString(frame, 4, frame.Length - 4);
        var expectedPayload = RecordCanonical[..^1]
            .Replace("\"hypothesis\":\"\",", "\"hypothesis\":\"\",\"id\":\"013d36389ac3e1006f9dc4c6e08abf5e6349b4264507046b14fbf1a4c51617f6\",", StringComparison.Ordinal)
            .Replace("\"prepare_cid\":\"\",", "\"prepare_cid\":\"\",\"signature\":\"5fbb9715330a52f2124640ab85c96159a8dda6f6ac0650d9b8346d87943ce2562b5ef4588eb048d13dcced83c862f4ff7fb288c0626f0b066dd06fef2195d20b\",", StringComparison.Ordinal) + "}";
        Assert.Equal("{\"type\":\"experiment\",\"payload\":" + expectedPayload + "}", body);
    }

    [Fact]
    public void Task_of_section_4_3_has_the_canonical_bytes_task_id_and_signature_of_the_notes()
    {
        var t = TestKeys.ExampleTask();
        Assert.Equal(TaskCanonical, Encoding.ASCII.GetString(t.CanonicalBytes()));
        Assert.Equal("92a44074a30e994cb58a6d4d7b2e340ab27872237156d48209e35c073c8dbf0a", t.TaskId);
        Assert.Equal("c5f6d85e8e4e196da0ada5bb21c01f83188e4cb818a310b44ccc3640dc77163b4c166064d6212933e2754eae1e93ffc4f46bcd2e10141016a47799853084a104",
            t.Json["signature"].AsString());
        Assert.Null(t.Verify());
        // Task frames use dataclass key order, not sorted order (§4.1).
        Assert.Equal(["name", "description", "task_type", "artifact_type", "metric", "goal", "base_code_cid", "prepare_cid", "dataset_cid",
            "time_budget", "created_by", "timestamp", "signature", "task_id", "version"], t.Json.Keys);
    }

    [Fact]
    public void Ping_frame_is_the_notes_example()
    {
        Assert.Equal("0000001c" + Convert.ToHexStringLower("{\"type\":\"ping\",\"payload\":{}}"u8.ToArray()),
            Convert.ToHexStringLower(Messages.Ping().ToFrame()));
    }

    [Fact]
    public void Record_received_with_other_spelling_of_numbers_and_key_order_still_verifies()
    {
        var wire = SporeJson.ToWireString(TestKeys.ExampleRecord().Json).Replace("\"val_bpb\":1.0", "\"val_bpb\":1.000e0", StringComparison.Ordinal);
        var r = ExperimentRecord.Parse(JsonReader.Parse(wire));
        Assert.Null(r.Verify());
    }
}
