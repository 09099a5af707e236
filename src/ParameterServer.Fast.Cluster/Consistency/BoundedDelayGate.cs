using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Cluster.Consistency;

/// <summary>
/// Holds pulls back until the consistency they asked for is met: a pull at clock c with delay τ
/// over range R is released when every live worker's clock on R is ≥ c − τ. Released pulls are
/// answered in the order they became ready. Not thread-safe: the server's consistency thread owns it.
/// </summary>
public sealed class BoundedDelayGate<TRequest>(RangeClocks clocks)
{
    private readonly List<Waiting> _waiting = [];

    private readonly record struct Waiting(TRequest Request, KeyRange Range, long Required, long Since);

    public RangeClocks Clocks => clocks;

    /// <summary>Pulls held back now.</summary>
    public int WaitingCount => _waiting.Count;

    /// <summary>True when a pull at <paramref name="clock"/> over <paramref name="range"/> may be answered now.</summary>
    public bool IsReady(KeyRange range, long clock, Consistency consistency) =>
        consistency.IsEventual || clocks.MinimumClock(range) >= consistency.RequiredClock(clock);

    /// <summary>Answers at once (returns true) or holds the pull back until <see cref="Release"/> finds it ready.</summary>
    public bool Admit(TRequest request, KeyRange range, long clock, Consistency consistency, long now)
    {
        if (IsReady(range, clock, consistency))
            return true;
        _waiting.Add(new Waiting(request, range, consistency.RequiredClock(clock), now));
        return false;
    }

    /// <summary>After clocks advanced or a worker died: the pulls now ready, with how long each waited.</summary>
    public void Release(List<(TRequest Request, long Waited)> ready, long now)
    {
        for (int i = 0; i < _waiting.Count; i++)
        {
            Waiting w = _waiting[i];
            if (clocks.MinimumClock(w.Range) >= w.Required)
            {
                ready.Add((w.Request, now - w.Since));
                _waiting.RemoveAt(i--);
            }
        }
    }

    /// <summary>Takes out the held pulls <paramref name="leaves"/> picks (a range that moved away): their askers go elsewhere.</summary>
    public void Evict(Func<TRequest, bool> leaves, List<TRequest> evicted)
    {
        for (int i = 0; i < _waiting.Count; i++)
        {
            if (leaves(_waiting[i].Request))
            {
                evicted.Add(_waiting[i].Request);
                _waiting.RemoveAt(i--);
            }
        }
    }
}
