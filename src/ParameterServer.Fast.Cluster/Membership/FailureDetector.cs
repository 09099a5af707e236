namespace ParameterServer.Fast.Cluster.Membership;

/// <summary>
/// Declares a node dead when nothing was heard from it for <see cref="Timeout"/>: every frame
/// counts, and idle nodes send heartbeats. Time comes from a <see cref="TimeProvider"/> so the
/// logic is tested deterministically. Not thread-safe: the scheduler's inbox thread owns it.
/// </summary>
public sealed class FailureDetector<TNode>(TimeProvider time, TimeSpan timeout) where TNode : notnull
{
    private readonly Dictionary<TNode, long> _lastHeard = [];

    public TimeSpan Timeout { get; } = timeout > TimeSpan.Zero ? timeout : throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "the timeout must be positive");

    /// <summary>Nodes being watched.</summary>
    public int Count => _lastHeard.Count;

    /// <summary>Starts watching a node, or notes that it was just heard from.</summary>
    public void Heard(TNode node) => _lastHeard[node] = time.GetTimestamp();

    /// <summary>Seconds since <paramref name="node"/> was last heard from; NaN when it is not watched.</summary>
    public double SecondsSinceHeard(TNode node) =>
        _lastHeard.TryGetValue(node, out long last) ? time.GetElapsedTime(last).TotalSeconds : double.NaN;

    /// <summary>Stops watching (the node left in order, or was already declared dead).</summary>
    public void Forget(TNode node) => _lastHeard.Remove(node);

    /// <summary>Adds every node silent for longer than the timeout to <paramref name="dead"/> and stops watching it.</summary>
    public void CollectDead(List<TNode> dead)
    {
        long now = time.GetTimestamp();
        foreach ((TNode node, long last) in _lastHeard)
        {
            if (time.GetElapsedTime(last, now) > Timeout)
                dead.Add(node);
        }
        foreach (TNode node in dead)
            _lastHeard.Remove(node);
    }
}
