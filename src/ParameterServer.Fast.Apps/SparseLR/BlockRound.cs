using ParameterServer.Fast.Codec.Filters;

namespace ParameterServer.Fast.Apps.SparseLR;

/// <summary>
/// One iteration of block proximal gradient on one shard: the block's features that travel, their
/// keys, and the rows exchanged with the servers, first [g, u, round] to push, then [w, G, round]
/// as pulled. The rows are sent from this buffer, so a round stays alive until its pull is applied.
/// </summary>
public sealed class BlockRound
{
    public const int Width = 3;

    private int[] _features = [];
    private int[] _moving = [];
    private ulong[] _keys = [];
    private float[] _rows = [];
    private double[] _gradient = [];
    private double[] _curvature = [];
    private ulong[] _filterKeys = [];
    private float[] _filterRows = [];
    private int[] _kept = [];

    public int Block { get; private set; }

    /// <summary>The round number pushed with the rows: iteration + 1, so 0 can mean "never pushed".</summary>
    public long Round { get; private set; }

    public int Count { get; private set; }

    /// <summary>Whether only the active features travel (the KKT filter on) or all of the block's.</summary>
    public bool ActiveOnly { get; private set; }

    /// <summary>The features pushed and pulled, in key order.</summary>
    public ReadOnlySpan<int> Features => _features.AsSpan(0, Count);

    /// <summary>The block's active features when the round was computed: those whose weights may move.</summary>
    public ReadOnlySpan<int> Moving => _moving.AsSpan(0, MovingCount);

    public int MovingCount { get; private set; }

    public ReadOnlyMemory<ulong> Keys => _keys.AsMemory(0, Count);

    public Memory<float> Rows => _rows.AsMemory(0, Count * Width);

    /// <summary>
    /// Fills [g, u, round] from the shard's current margins for the block's active features, or with
    /// <paramref name="activeOnly"/> false for all of its features (the curvature still counts only
    /// the active ones as moving, so both ways take the same steps).
    /// </summary>
    public void Compute(LogisticShard shard, ActiveFeatures active, int block, long round, bool activeOnly)
    {
        Choose(shard, active, block, activeOnly);
        shard.BlockGradient(Features, Moving, _gradient, _curvature);
        Fill(round);
    }

    /// <summary>
    /// The first half of <see cref="Compute"/>: chooses the features and computes their curvature,
    /// which depends on the data and the block's active set only. A worker does this for the next
    /// block while the servers answer the current one (the active set of another block cannot
    /// change meanwhile), then <see cref="Finish"/> adds the gradient once the margins are current.
    /// </summary>
    public void Prepare(LogisticShard shard, ActiveFeatures active, int block, bool activeOnly)
    {
        Choose(shard, active, block, activeOnly);
        shard.BlockCurvature(Features, Moving, _curvature);
        Prepared = true;
    }

    /// <summary>Whether <see cref="Prepare"/> ran and <see cref="Finish"/> has not yet.</summary>
    public bool Prepared { get; private set; }

    /// <summary>The second half of <see cref="Compute"/>: the gradient from the current margins, and the rows; the same bits as Compute.</summary>
    public void Finish(LogisticShard shard, long round)
    {
        if (!Prepared)
            throw new InvalidOperationException("Finish needs a prepared round");
        Prepared = false;
        shard.BlockGradientOnly(Features, _gradient);
        Fill(round);
    }

    private void Choose(LogisticShard shard, ActiveFeatures active, int block, bool activeOnly)
    {
        ReadOnlySpan<int> moving = active.Of(block);
        ReadOnlySpan<int> features = activeOnly ? moving : active.All(block);
        Block = block;
        ActiveOnly = activeOnly;
        Count = features.Length;
        MovingCount = moving.Length;
        Prepared = false;
        Grow(features.Length);
        features.CopyTo(_features);
        moving.CopyTo(_moving);
        ulong[] keys = shard.Data.Keys;
        for (int k = 0; k < features.Length; k++)
            _keys[k] = keys[features[k]];
    }

    private void Fill(long round)
    {
        Round = round;
        for (int k = 0; k < Count; k++)
        {
            _rows[(k * Width) + 0] = (float)_gradient[k];
            _rows[(k * Width) + 1] = (float)_curvature[k];
            _rows[(k * Width) + 2] = round;
        }
    }

    /// <summary>
    /// Takes in the pulled rows [w, G, round]: the KKT condition judges them (against the weights
    /// before this round) and the block's active set follows, then the shard's weights and margins
    /// move to the new w. With the filter on a feature found inactive stops travelling until the
    /// next reset; with it off every feature still travels and the active set is judged afresh.
    /// </summary>
    public void Apply(LogisticShard shard, ActiveFeatures active, KktFilter kkt)
    {
        int n = Count;
        _keys.AsSpan(0, n).CopyTo(_filterKeys);
        _rows.AsSpan(0, n * Width).CopyTo(_filterRows);
        int kept = kkt.Apply(_filterKeys.AsSpan(0, n), _filterRows.AsSpan(0, n * Width), Width);
        // The kept keys are a subsequence of this round's: walk both to find their features.
        for (int k = 0, r = 0; k < kept; k++)
        {
            while (_keys[r] != _filterKeys[k])
                r++;
            _kept[k] = _features[r];
        }
        if (ActiveOnly)
            active.Drop(Block, Features, _kept.AsSpan(0, kept));
        else
            active.Set(Block, _kept.AsSpan(0, kept));
        shard.SetWeights(Features, _rows.AsSpan(0, n * Width), Width);
    }

    private void Grow(int n)
    {
        if (_features.Length >= n)
            return;
        int size = Math.Max(n, 2 * _features.Length);
        _features = new int[size];
        _moving = new int[size];
        _keys = new ulong[size];
        _rows = new float[size * Width];
        _gradient = new double[size];
        _curvature = new double[size];
        _filterKeys = new ulong[size];
        _filterRows = new float[size * Width];
        _kept = new int[size];
    }
}
