namespace ParameterServer.Fast.Cli.Tests.Chaos;

/// <summary>
/// What <see cref="NetworkLab.Impair"/> did to a node's link: <see cref="Applied"/> for the test's
/// log; <see cref="RelayDelay"/> the delay each way the kernel could not add, for relays to add
/// (zero where netem did); <see cref="Impaired"/> false when nothing at all could be applied.
/// </summary>
internal sealed record LinkImpairment(string Applied, TimeSpan RelayDelay, bool Impaired);
