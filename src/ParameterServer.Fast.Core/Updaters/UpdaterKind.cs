namespace ParameterServer.Fast.Core.Updaters;

/// <summary>The built-in server-side update rules.</summary>
public enum UpdaterKind
{
    /// <summary>w += g: plain aggregation (counters, sketches, gradient sums).</summary>
    Sum,
    /// <summary>w -= η (g + λ₂ w).</summary>
    Sgd,
    /// <summary>Duchi et al. 2011: per-coordinate step η / √(Σ g²).</summary>
    Adagrad,
    /// <summary>McMahan et al. 2013, FTRL-proximal with L1 and L2: sparse models.</summary>
    Ftrl,
    /// <summary>Kingma and Ba 2015, with bias correction.</summary>
    Adam,
    /// <summary>
    /// Li et al. 2014 (§5.1): the proximal step of delayed block proximal gradient with the
    /// workers' summed gradient and curvature; rows of width 3 (see BlockProximalUpdater).
    /// </summary>
    BlockProximal,
}
