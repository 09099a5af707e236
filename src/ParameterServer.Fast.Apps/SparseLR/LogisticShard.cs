namespace ParameterServer.Fast.Apps.SparseLR;

/// <summary>
/// The model as one data shard sees it: a copy of the weights of the shard's features, the margins
/// xᵢ·w of its examples and their residuals σ(xᵢ·w) − yᵢ, kept current as weights change. Gives a
/// block's gradient and curvature bound on the shard and its log loss; the worker of a job and the
/// single-process baseline both train through it.
/// </summary>
public sealed class LogisticShard
{
    private readonly ShardColumns _data;
    private readonly float[] _weights;
    private readonly double[] _margins;
    private readonly double[] _residuals;
    // Per example Σ|x| over the features of rounds pushed but not yet applied (see Pending); within
    // BlockGradient also over the block's own active features.
    private readonly double[] _rowSums;
    // Scratch of BlockGradient: the block's moving features (false between calls).
    private readonly bool[] _isMoving;
    // Examples whose margin changed since their residual was computed.
    private readonly int[] _changed;
    private readonly bool[] _isChanged;

    public LogisticShard(ShardColumns data)
    {
        _data = data;
        _weights = new float[data.Features];
        _margins = new double[data.Examples];
        _residuals = new double[data.Examples];
        _rowSums = new double[data.Examples];
        _isMoving = new bool[data.Features];
        _changed = new int[data.Examples];
        _isChanged = new bool[data.Examples];
        for (int i = 0; i < data.Examples; i++)
            _residuals[i] = 0.5 - data.Labels[i];
    }

    public ShardColumns Data => _data;

    /// <summary>This shard's copy of the weights, by feature position.</summary>
    public ReadOnlySpan<float> Weights => _weights;

    /// <summary>
    /// For each feature in <paramref name="features"/> the gradient of the shard's summed log loss,
    /// and a curvature u that bounds the Hessian from above as a diagonal over every feature whose
    /// update the gradient does not see: the block's <paramref name="moving"/> (active) features
    /// and those of the rounds still <see cref="Pending"/> (with bounded delay the margins lag
    /// behind them). That Hessian Σᵢ hᵢ xᵢxᵢᵀ has hᵢ = pᵢ(1 − pᵢ) ≤ ¼, and by Cauchy–Schwarz
    /// (Σₗ xᵢₗdₗ)² ≤ (Σₗ|xᵢₗ|)(Σₗ|xᵢₗ|dₗ²), so uⱼ = ¼ Σᵢ |xᵢⱼ| Σₗ|xᵢₗ| bounds it: with τ = 0 the step
    /// the servers take never increases the objective. Only moving features count in Σₗ, so the
    /// bound tightens as the KKT filter finds features that stay zero (one not counted as moving
    /// still counts itself), and loosens with the delay.
    /// </summary>
    public void BlockGradient(ReadOnlySpan<int> features, ReadOnlySpan<int> moving, Span<double> gradient, Span<double> curvature)
    {
        if (gradient.Length < features.Length || curvature.Length < features.Length)
            throw new ArgumentException($"{features.Length} features need as many gradient and curvature slots");
        int[] start = _data.ColumnStart, rows = _data.Rows;
        float[] values = _data.Values;
        BeginMoving(moving);
        for (int k = 0; k < features.Length; k++)
        {
            int j = features[k];
            double g = 0, u = 0;
            bool self = !_isMoving[j];
            for (int e = start[j]; e < start[j + 1]; e++)
            {
                int i = rows[e];
                double x = values[e];
                g += _residuals[i] * x;
                u += Math.Abs(x) * (_rowSums[i] + (self ? Math.Abs(x) : 0));
            }
            gradient[k] = g;
            curvature[k] = 0.25 * u;
        }
        EndMoving(moving);
    }

    /// <summary>
    /// The curvature half of <see cref="BlockGradient"/> alone: it reads only the data and which
    /// features move, never the weights, so a worker computes it for the next block while the
    /// servers answer the current one. Sums in the same order as BlockGradient: the same bits.
    /// </summary>
    public void BlockCurvature(ReadOnlySpan<int> features, ReadOnlySpan<int> moving, Span<double> curvature)
    {
        if (curvature.Length < features.Length)
            throw new ArgumentException($"{features.Length} features need as many curvature slots");
        int[] start = _data.ColumnStart, rows = _data.Rows;
        float[] values = _data.Values;
        BeginMoving(moving);
        for (int k = 0; k < features.Length; k++)
        {
            int j = features[k];
            double u = 0;
            bool self = !_isMoving[j];
            for (int e = start[j]; e < start[j + 1]; e++)
            {
                double x = Math.Abs(values[e]);
                u += x * (_rowSums[rows[e]] + (self ? x : 0));
            }
            curvature[k] = 0.25 * u;
        }
        EndMoving(moving);
    }

    // The block's own moving features count in the curvature's row sums while it is computed, and
    // mark themselves so one that does not move can count itself instead.
    private void BeginMoving(ReadOnlySpan<int> moving)
    {
        Pending(moving, 1);
        foreach (int j in moving)
            _isMoving[j] = true;
    }

    private void EndMoving(ReadOnlySpan<int> moving)
    {
        foreach (int j in moving)
            _isMoving[j] = false;
        Pending(moving, -1);
    }

    /// <summary>The gradient half of <see cref="BlockGradient"/> alone, from the current margins (the same bits).</summary>
    public void BlockGradientOnly(ReadOnlySpan<int> features, Span<double> gradient)
    {
        if (gradient.Length < features.Length)
            throw new ArgumentException($"{features.Length} features need as many gradient slots");
        int[] start = _data.ColumnStart, rows = _data.Rows;
        float[] values = _data.Values;
        for (int k = 0; k < features.Length; k++)
        {
            int j = features[k];
            double g = 0;
            for (int e = start[j]; e < start[j + 1]; e++)
                g += _residuals[rows[e]] * values[e];
            gradient[k] = g;
        }
    }

    /// <summary>
    /// Counts (<paramref name="sign"/> +1) or stops counting (−1) features of a round pushed but not
    /// yet applied in the curvature bound: the margins do not yet see their update.
    /// </summary>
    public void Pending(ReadOnlySpan<int> features, int sign)
    {
        int[] start = _data.ColumnStart, rows = _data.Rows;
        float[] values = _data.Values;
        foreach (int j in features)
        {
            for (int e = start[j]; e < start[j + 1]; e++)
                _rowSums[rows[e]] += sign * Math.Abs(values[e]);
        }
    }

    /// <summary>Takes in new weights for <paramref name="features"/>: the margins (and residuals) of the examples they occur in follow.</summary>
    public void SetWeights(ReadOnlySpan<int> features, ReadOnlySpan<float> weights, int stride = 1)
    {
        int[] start = _data.ColumnStart, rows = _data.Rows;
        float[] values = _data.Values;
        int changed = 0;
        for (int k = 0; k < features.Length; k++)
        {
            int j = features[k];
            float w = weights[k * stride];
            double delta = (double)w - _weights[j];
            if (delta == 0)
                continue;
            _weights[j] = w;
            for (int e = start[j]; e < start[j + 1]; e++)
            {
                int i = rows[e];
                _margins[i] += delta * values[e];
                if (!_isChanged[i])
                {
                    _isChanged[i] = true;
                    _changed[changed++] = i;
                }
            }
        }
        float[] labels = _data.Labels;
        for (int c = 0; c < changed; c++)
        {
            int i = _changed[c];
            _isChanged[i] = false;
            _residuals[i] = (1 / (1 + Math.Exp(-_margins[i]))) - labels[i];
        }
    }

    /// <summary>Σᵢ log(1 + exp(−ỹᵢ xᵢ·w)) over the shard's examples (ỹ = ±1), computed without overflow.</summary>
    public double LossSum()
    {
        double sum = 0;
        float[] labels = _data.Labels;
        for (int i = 0; i < _margins.Length; i++)
        {
            double z = labels[i] > 0.5f ? -_margins[i] : _margins[i];
            sum += Math.Max(z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z)));
        }
        return sum;
    }

    /// <summary>λ₁‖w‖₁ + λ₂/2‖w‖² over the features <paramref name="counted"/> marks (all when empty).</summary>
    public double Regulariser(float l1, float l2, ReadOnlySpan<bool> counted = default)
    {
        double abs = 0, squares = 0;
        for (int j = 0; j < _weights.Length; j++)
        {
            if (!counted.IsEmpty && !counted[j])
                continue;
            abs += Math.Abs(_weights[j]);
            squares += (double)_weights[j] * _weights[j];
        }
        return (l1 * abs) + (l2 / 2 * squares);
    }
}
