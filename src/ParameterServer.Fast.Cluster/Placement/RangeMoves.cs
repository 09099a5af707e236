using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Cluster.Placement;

/// <summary>A range of a table with its chain now and the chain a changed ring gives it.</summary>
public sealed record RangeMove(RangeAssignment Current, int[] Next)
{
    public KeyRange Range => Current.Range;

    /// <summary>Servers the range must be copied to before it can take its next chain.</summary>
    public int[] Joining => [.. Next.Where(s => !Current.Chain.Contains(s))];

    public bool Moves => !Next.AsSpan().SequenceEqual(Current.Chain);
}

/// <summary>
/// Where a table's ranges go when the ring changes (a server added or drained). A range keeps its
/// boundaries and takes the chain the new ring gives the largest share of it. Keeping boundaries
/// is what makes a move exact: a request in flight covers one range, so it belongs to one chain
/// before the move and one after, and its request id stays the unit that is applied once. The
/// price is balance: a new server takes the ranges its points cover most of, not exactly its arcs
/// (its arcs lie inside existing ranges, so with 16 virtual nodes it gets roughly half a fair share
/// as primary at first; later changes refine nothing, see the README).
/// </summary>
public static class RangeMoves
{
    public static List<RangeMove> On(IReadOnlyList<RangeAssignment> current, IReadOnlyList<RangeAssignment> ring)
    {
        var moves = new List<RangeMove>(current.Count);
        int j = 0;
        foreach (RangeAssignment part in current)
        {
            while (j < ring.Count && ring[j].Range.End <= part.Range.Begin)
                j++;
            int[] best = part.Chain;
            ulong most = 0;
            for (int k = j; k < ring.Count && ring[k].Range.Begin < part.Range.End; k++)
            {
                ulong share = ring[k].Range.Intersect(part.Range).Size;
                if (share > most)
                {
                    most = share;
                    best = ring[k].Chain;
                }
            }
            moves.Add(new RangeMove(part, best));
        }
        return moves;
    }
}
