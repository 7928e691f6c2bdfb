namespace Federation.Specialists.Interop;
internal static class Placeholder { }
