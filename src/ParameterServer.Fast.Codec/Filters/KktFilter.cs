namespace ParameterServer.Fast.Codec.Filters;

/// <summary>
/// The app's view of the KKT condition of L1-regularised objectives (the paper's sparse logistic
/// regression, §5.1): a coordinate whose weight is 0 and whose gradient is within the L1 weight λ
/// stays 0 after the proximal step, so its gradient need not travel.
/// </summary>
public interface IKktCondition
{
    /// <summary>True when the update for <paramref name="key"/> cannot change the model now.</summary>
    bool IsInactive(ulong key, ReadOnlySpan<float> gradient);
}

/// <summary>
/// The KKT filter hook: drops entries the app's <see cref="IKktCondition"/> declares inactive. Unlike
/// the significantly-modified filter nothing is carried: an inactive gradient would be cancelled
/// by the L1 proximal step on the server anyway (the paper reports it drops most of the traffic
/// once the model is sparse).
/// </summary>
public sealed class KktFilter(IKktCondition condition) : IPushFilter
{
    public int Apply(Span<ulong> keys, Span<float> values, int width)
    {
        PushEntries.Check(keys.Length, values.Length, width);
        int kept = 0;
        for (int i = 0; i < keys.Length; i++)
        {
            if (condition.IsInactive(keys[i], values.Slice(i * width, width)))
                continue;
            PushEntries.Move(keys, values, width, i, kept++);
        }
        return kept;
    }
}

/// <summary>
/// The KKT condition of an L1 term λ‖w‖₁: inactive when w(key) = 0 and every |g| ≤ λ.
/// <paramref name="weight"/> reads the worker's current copy of the model (its last pull).
/// </summary>
public sealed class L1KktCondition(Func<ulong, float> weight, float lambda) : IKktCondition
{
    public bool IsInactive(ulong key, ReadOnlySpan<float> gradient)
    {
        if (weight(key) != 0f)
            return false;
        foreach (float g in gradient)
        {
            if (MathF.Abs(g) > lambda)
                return false;
        }
        return true;
    }
}
