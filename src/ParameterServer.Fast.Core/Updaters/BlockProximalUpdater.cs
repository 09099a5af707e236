using ParameterServer.Fast.Core.Memory;

namespace ParameterServer.Fast.Core.Updaters;

/// <summary>
/// The servers' part of delayed block proximal gradient: each worker pushes, for the features of
/// one block, its data shard's gradient and curvature bound; the servers add up every worker's
/// share of a round and take the proximal step with the sums. Rows are three floats:
/// <code>
///   pushed row   [ g | u  | r ]   one worker's gradient, curvature bound and round r (r ≥ 1)
///   stored row   [ w | G  | r ]   the weight, Σ g of round r so far, and r       (what pulls return)
///   state 0 row  [ U | w₀ | 0 ]   Σ u of round r so far, and the weight round r started from
/// </code>
/// A push of a newer round than the row's starts it (w₀ = w, G = g, U = u); a push of the same
/// round adds to the sums; a push of an older round is dropped, since its round was already closed
/// by a newer one. After every push w = <see cref="ProximalStep.Solve"/>(w₀, G, U): once the
/// round's last worker pushed, w is the step with the aggregated gradient and curvature, whatever
/// the order the pushes came in. The round travels with the values because the server sees no
/// clock: it is what lets the sums restart without a message of their own. The stored G lets
/// workers apply the KKT filter to what they pull.
/// </summary>
internal sealed class BlockProximalUpdater(UpdaterSettings settings) : Updater(settings)
{
    public const int Width = 3;

    public override UpdaterKind? Kind => UpdaterKind.BlockProximal;

    public override int StateCount => 1;

    public override string Name => "blockproximal";

    public override void ApplyRange(RowStore store, long firstRow, ReadOnlySpan<float> gradients)
    {
        CheckWidth(store, gradients.Length);
        long rows = gradients.Length / Width;
        if (firstRow < 0 || firstRow + rows > store.CommittedRows)
            throw new ArgumentOutOfRangeException(nameof(firstRow), $"rows [{firstRow}, {firstRow + rows}) outside the {store.CommittedRows} rows of the table");
        for (int i = 0; i < rows; i++)
            ApplyRow(store, firstRow + i, gradients.Slice(i * Width, Width));
    }

    public override void ApplyRows(RowStore store, ReadOnlySpan<int> slots, ReadOnlySpan<float> gradients)
    {
        CheckWidth(store, gradients.Length);
        if ((long)slots.Length * Width != gradients.Length)
            throw new ArgumentException($"{slots.Length} rows of width {Width} need {(long)slots.Length * Width} values, got {gradients.Length}");
        for (int i = 0; i < slots.Length; i++)
        {
            if ((ulong)slots[i] >= (ulong)store.CommittedRows)
                throw new ArgumentOutOfRangeException(nameof(slots), slots[i], $"slot outside the {store.CommittedRows} rows of the table");
            ApplyRow(store, slots[i], gradients.Slice(i * Width, Width));
        }
    }

    private void ApplyRow(RowStore store, long row, ReadOnlySpan<float> pushed)
    {
        Span<float> stored = store.WeightRows(row, 1);
        Span<float> state = store.StateRows(0, row, 1);
        float round = pushed[2];
        if (round > stored[2])
        {
            state[1] = stored[0];
            stored[1] = pushed[0];
            state[0] = pushed[1];
            stored[2] = round;
        }
        else if (round == stored[2])
        {
            stored[1] += pushed[0];
            state[0] += pushed[1];
        }
        else
        {
            // Older than the row's round (or NaN): that round is over, its step already taken.
            return;
        }
        stored[0] = ProximalStep.Solve(state[1], stored[1], state[0], Settings);
    }

    private static void CheckWidth(RowStore store, int values)
    {
        if (store.Width != Width)
            throw new ArgumentException($"the block proximal updater needs rows of width {Width} ([g, u, round]), the table has width {store.Width}");
        if (values % Width != 0)
            throw new ArgumentException($"{values} values do not make whole rows of width {Width}");
    }
}
