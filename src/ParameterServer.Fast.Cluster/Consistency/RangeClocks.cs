using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Cluster.Consistency;

/// <summary>
/// Vector clocks per key range, kept compact as in the paper (§4.1): a sorted list of segments
/// that tile the range a server holds, each with one clock per worker. Workers usually advance
/// whole tables at once, so most of the time the list has a single segment; a tick on part of a
/// segment splits it, and neighbours whose clocks become equal again are merged.
/// <code>
///   [0, 1000) → {w0: 5, w1: 4}   [1000, 5000) → {w0: 5, w1: 5}   [5000, 9000) → {w0: 3, w1: 4}
/// </code>
/// Dead workers are dropped from every minimum so they hold nobody back. Not thread-safe: owned by
/// the server's consistency thread.
/// </summary>
public sealed class RangeClocks
{
    private readonly List<Segment> _segments = [];
    private readonly List<bool> _live = [];

    private sealed class Segment(KeyRange range, long[] clocks)
    {
        public KeyRange Range = range;
        public long[] Clocks = clocks;
    }

    public RangeClocks(KeyRange held, int workers)
    {
        Held = held;
        for (int w = 0; w < workers; w++)
            _live.Add(true);
        _segments.Add(new Segment(held, new long[workers]));
    }

    public KeyRange Held { get; }

    public int Workers => _live.Count;

    /// <summary>How many distinct segments are kept now (the compactness the paper asks for).</summary>
    public int SegmentCount => _segments.Count;

    /// <summary>Adds a worker (its clocks start at <paramref name="clock"/>); returns its index.</summary>
    public int AddWorker(long clock)
    {
        foreach (Segment s in _segments)
        {
            Array.Resize(ref s.Clocks, s.Clocks.Length + 1);
            s.Clocks[^1] = clock;
        }
        _live.Add(true);
        return _live.Count - 1;
    }

    /// <summary>Marks a worker dead: it no longer counts in any minimum.</summary>
    public void RemoveWorker(int worker) => _live[worker] = false;

    /// <summary>
    /// Marks a worker live again: a replacement took over its shard. Its clock starts at the
    /// least clock of the other live workers on each segment, so it holds nobody back and is not
    /// ahead of anyone (it then advances with its own clock ticks).
    /// </summary>
    public void ReviveWorker(int worker)
    {
        foreach (Segment s in _segments)
        {
            long min = long.MaxValue;
            for (int w = 0; w < s.Clocks.Length; w++)
            {
                if (w != worker && _live[w])
                    min = Math.Min(min, s.Clocks[w]);
            }
            if (min != long.MaxValue)
                s.Clocks[worker] = Math.Max(s.Clocks[worker], min);
        }
        _live[worker] = true;
        Merge();
    }

    public bool IsLive(int worker) => _live[worker];

    /// <summary>Raises the clock of <paramref name="worker"/> on <paramref name="range"/> to at least <paramref name="clock"/>.</summary>
    public void Advance(int worker, KeyRange range, long clock)
    {
        range = range.Intersect(Held);
        if (range.IsEmpty)
            return;
        SplitAt(range.Begin);
        SplitAt(range.End);
        foreach (Segment s in _segments)
        {
            if (range.Contains(s.Range) && s.Clocks[worker] < clock)
                s.Clocks[worker] = clock;
        }
        Merge();
    }

    /// <summary>The clock of one worker on a range: the least over the segments it spans.</summary>
    public long ClockOf(int worker, KeyRange range)
    {
        long min = long.MaxValue;
        foreach (Segment s in _segments)
        {
            if (s.Range.Overlaps(range))
                min = Math.Min(min, s.Clocks[worker]);
        }
        return min;
    }

    /// <summary>The least clock of any live worker on any part of <paramref name="range"/> (long.MaxValue with no live worker).</summary>
    public long MinimumClock(KeyRange range)
    {
        long min = long.MaxValue;
        foreach (Segment s in _segments)
        {
            if (!s.Range.Overlaps(range))
                continue;
            for (int w = 0; w < s.Clocks.Length; w++)
            {
                if (_live[w] && s.Clocks[w] < min)
                    min = s.Clocks[w];
            }
        }
        return min;
    }

    private void SplitAt(ulong key)
    {
        for (int i = 0; i < _segments.Count; i++)
        {
            Segment s = _segments[i];
            if (key > s.Range.Begin && key < s.Range.End)
            {
                _segments[i] = new Segment(new KeyRange(s.Range.Begin, key), (long[])s.Clocks.Clone());
                _segments.Insert(i + 1, new Segment(new KeyRange(key, s.Range.End), s.Clocks));
                return;
            }
        }
    }

    private void Merge()
    {
        for (int i = _segments.Count - 1; i > 0; i--)
        {
            Segment left = _segments[i - 1], right = _segments[i];
            if (left.Clocks.AsSpan().SequenceEqual(right.Clocks))
            {
                left.Range = new KeyRange(left.Range.Begin, right.Range.End);
                _segments.RemoveAt(i);
            }
        }
    }
}
