using Federation.Registry;

namespace Federation.Specialists.Models;

/// <summary>A model or adapter file the project wrote: where, its CID (SHA-256 of the bytes), size and parameter count.</summary>
public sealed record GeneratedFile(string Path, Cid Cid, long FileBytes, long ParameterCount);
