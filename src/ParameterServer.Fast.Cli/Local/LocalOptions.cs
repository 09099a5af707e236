using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cli.Local;

/// <summary>The options of `psf local`.</summary>
public sealed record LocalOptions
{
    public string App { get; init; } = "sparse-lr";
    public int Servers { get; init; } = 2;
    public int Workers { get; init; } = 2;
    public TransportKind Transport { get; init; } = TransportKind.Tcp;
    public int MaxDelay { get; init; } = 2;
    public int Replicas { get; init; } = 1;
    public int Epochs { get; init; } = 3;
    public int Examples { get; init; } = 100_000;
    public int BatchSize { get; init; } = 500;
    public ulong Seed { get; init; } = 1;
    public string? Json { get; init; }
    public bool Quiet { get; init; }
}
