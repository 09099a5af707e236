using ParameterServer.Fast.Apps.Data;

namespace ParameterServer.Fast.Apps.SparseLR;

/// <summary>
/// Settings of sparse logistic regression with L1 (and optional L2). The objective is
/// Σᵢ log-loss + λ₁‖w‖₁ + λ₂/2‖w‖², reported divided by the number of training examples.
/// </summary>
public sealed record SparseLROptions
{
    /// <summary>20 passes of block proximal gradient reach the optimum of the default data within about 0.1%.</summary>
    public const int DefaultPasses = 20;

    /// <summary>FTRL's default: three epochs of minibatch SGD.</summary>
    public const int DefaultFtrlEpochs = 3;

    public SparseDataSource Data { get; init; } = new GeneratedData(new ClickLogGenerator());
    public SparseLRAlgorithm Algorithm { get; init; } = SparseLRAlgorithm.BlockProximal;
    /// <summary>Passes over the training data (block proximal gradient) or epochs of SGD (FTRL).</summary>
    public int Epochs { get; init; } = DefaultPasses;
    /// <summary>FTRL's minibatch size.</summary>
    public int BatchSize { get; init; } = 500;
    /// <summary>FTRL's α; block proximal gradient takes the step its curvature bound allows and ignores this.</summary>
    public float LearningRate { get; init; } = 0.1f;
    /// <summary>λ₁ = 5: of 3, 5, 10 and 20 the best held-out log loss on the default data (block proximal gradient).</summary>
    public float L1 { get; init; } = 5f;
    public float L2 { get; init; }
    /// <summary>
    /// The bounded delay τ (0 sequential, int.MaxValue eventual): for FTRL of each minibatch's pull
    /// (default 2); for block proximal gradient how many rounds a worker may run ahead of the
    /// servers' answers (default 0: on 2 cores the iterations are short, and every round of delay
    /// widens the curvature bound more than it saves in waiting; see README).
    /// </summary>
    public int MaxDelay { get; init; }
    /// <summary>An injected straggler: worker 1 sleeps this long every iteration (for the bounded-delay experiments).</summary>
    public TimeSpan Straggler { get; init; }
    /// <summary>Progress reports per epoch and worker (FTRL; block proximal gradient reports once a pass).</summary>
    public int ReportsPerEpoch { get; init; } = 4;
    /// <summary>Feature blocks of block proximal gradient; one iteration updates one block.</summary>
    public int Blocks { get; init; } = 8;
    /// <summary>Block proximal gradient: skip features the KKT conditions say stay zero (neither pushed nor pulled).</summary>
    public bool KktFilter { get; init; } = true;
    /// <summary>
    /// Every this many passes every feature is active again for one pass, so one the filter
    /// dropped while its gradient was small comes back if it has grown since.
    /// </summary>
    public int KktResetEvery { get; init; } = 10;

    /// <summary>The defaults of an algorithm: those above for block proximal gradient; for FTRL 3 epochs, λ₁ = 1 and λ₂ = 0.01 in FTRL's per-coordinate units, τ = 2.</summary>
    public static SparseLROptions For(SparseLRAlgorithm algorithm) => algorithm == SparseLRAlgorithm.BlockProximal
        ? new SparseLROptions()
        : new SparseLROptions { Algorithm = algorithm, Epochs = DefaultFtrlEpochs, L1 = 1f, L2 = 0.01f, MaxDelay = 2 };

    /// <summary>Throws naming the first setting out of its domain.</summary>
    public void Validate()
    {
        if (Epochs < 1)
            throw new ArgumentException($"epochs must be at least 1, got {Epochs}");
        if (!(L1 >= 0) || !(L2 >= 0) || !float.IsFinite(L1) || !float.IsFinite(L2))
            throw new ArgumentException($"L1 and L2 must be finite and non-negative, got {L1} and {L2}");
        if (Blocks < 1 || Blocks > 4096)
            throw new ArgumentException($"blocks must be in 1..4096, got {Blocks}");
        // Rounds travel as floats, exact up to 2²⁴.
        if ((long)Epochs * Blocks >= 1 << 24)
            throw new ArgumentException($"{Epochs} passes over {Blocks} blocks make more than 2^24 rounds");
        if (KktResetEvery < 1)
            throw new ArgumentException($"the KKT filter's reset interval must be at least 1 pass, got {KktResetEvery}");
        if (MaxDelay < 0)
            throw new ArgumentException($"the maximal delay cannot be negative, got {MaxDelay}");
    }
}
