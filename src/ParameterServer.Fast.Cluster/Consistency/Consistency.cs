namespace ParameterServer.Fast.Cluster.Consistency;

/// <summary>
/// The consistency of one request, as the paper's bounded delay τ: a pull at clock c is answered
/// once every live worker's clock for the keys is at least c − τ. τ = 0 is sequential (bulk
/// synchronous), τ = ∞ eventual (never waits).
/// </summary>
public readonly record struct Consistency(int MaxDelay)
{
    public const int Unbounded = int.MaxValue;

    public static Consistency Sequential => new(0);

    public static Consistency Eventual => new(Unbounded);

    public static Consistency BoundedDelay(int tau) =>
        tau >= 0 ? new Consistency(tau) : throw new ArgumentOutOfRangeException(nameof(tau), tau, "the delay bound τ cannot be negative");

    public bool IsEventual => MaxDelay == Unbounded;

    /// <summary>The least clock every worker must have reached before a pull at <paramref name="clock"/> is answered.</summary>
    public long RequiredClock(long clock) => IsEventual ? long.MinValue : clock - MaxDelay;

    public override string ToString() => MaxDelay switch
    {
        0 => "sequential",
        Unbounded => "eventual",
        _ => $"bounded delay {MaxDelay}",
    };
}
