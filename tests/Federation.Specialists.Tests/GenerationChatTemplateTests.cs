using Federation.Specialists.Engine;
using Federation.Specialists.Interop;

namespace Federation.Specialists.Tests;

public class GenerationChatTemplateTests
{
    public GenerationChatTemplateTests() => LlamaLibrary.EnsureLoaded();

    [Fact]
    public void A_model_template_llama_cpp_knows_is_applied()
    {
        // A ChatML Jinja template, as a GGUF's tokenizer.chat_template would carry it; llama.cpp recognises it by content.
        var t = new ChatTemplate("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}");
        Assert.True(t.UsesModelTemplate);
        var prompt = t.Format([new ChatMessage("system", "be brief"), new ChatMessage("user", "hi")]);
        Assert.Equal("<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", prompt);
    }

    [Fact]
    public void An_unknown_or_missing_template_falls_back_to_the_plain_one()
    {
        ChatMessage[] msgs = [new("user", "hi")];
        Assert.False(new ChatTemplate(null).UsesModelTemplate);
        var unknown = new ChatTemplate("this is not a template llama.cpp knows");
        Assert.False(unknown.UsesModelTemplate);
        Assert.Equal("user: hi\nassistant:", unknown.Format(msgs));
    }
}
