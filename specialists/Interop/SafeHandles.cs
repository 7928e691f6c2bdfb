using Microsoft.Win32.SafeHandles;

namespace Federation.Specialists.Interop;

/// <summary>Owns a <c>llama_model*</c>; freed when the last handle that depends on it (context, adapter) is released.</summary>
internal sealed class SafeLlamaModelHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public SafeLlamaModelHandle() : base(ownsHandle: true) { }

    internal SafeLlamaModelHandle(nint handle) : base(ownsHandle: true) => SetHandle(handle);

    protected override bool ReleaseHandle()
    {
        NativeMethods.llama_model_free(handle);
        return true;
    }
}

/// <summary>
/// A handle that keeps its model alive: it takes a reference on the model handle when created and gives it back
/// after the native object is freed, so a model is never freed under a live context or adapter.
/// </summary>
internal abstract class SafeModelDependentHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private readonly SafeLlamaModelHandle? _model;

    protected SafeModelDependentHandle() : base(ownsHandle: true) { }

    protected SafeModelDependentHandle(nint handle, SafeLlamaModelHandle model) : base(ownsHandle: true)
    {
        var added = false;
        model.DangerousAddRef(ref added);
        _model = model;
        SetHandle(handle);
    }

    protected abstract void Free(nint h);

    protected override bool ReleaseHandle()
    {
        Free(handle);
        _model?.DangerousRelease();
        return true;
    }
}

/// <summary>Owns a <c>llama_context*</c> and keeps its model alive.</summary>
internal sealed class SafeLlamaContextHandle : SafeModelDependentHandle
{
    public SafeLlamaContextHandle() { }

    internal SafeLlamaContextHandle(nint handle, SafeLlamaModelHandle model) : base(handle, model) { }

    protected override void Free(nint h) => NativeMethods.llama_free(h);
}

/// <summary>Owns a <c>llama_adapter_lora*</c> and keeps its model alive.</summary>
internal sealed class SafeLlamaAdapterHandle : SafeModelDependentHandle
{
    public SafeLlamaAdapterHandle() { }

    internal SafeLlamaAdapterHandle(nint handle, SafeLlamaModelHandle model) : base(handle, model) { }

    protected override void Free(nint h) => NativeMethods.llama_adapter_lora_free(h);
}

/// <summary>Owns a <c>llama_sampler*</c> (a chain; the chain owns the samplers added to it).</summary>
internal sealed class SafeLlamaSamplerHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public SafeLlamaSamplerHandle() : base(ownsHandle: true) { }

    internal SafeLlamaSamplerHandle(nint handle) : base(ownsHandle: true) => SetHandle(handle);

    protected override bool ReleaseHandle()
    {
        NativeMethods.llama_sampler_free(handle);
        return true;
    }
}
