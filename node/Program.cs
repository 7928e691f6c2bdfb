namespace Federation.Node;

public static class Program
{
    public static int Main(string[] args) => FedCli.Run(args);
}
