namespace Federation.Specialists;
internal static class Placeholder { }
