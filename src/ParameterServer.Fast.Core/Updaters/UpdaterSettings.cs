namespace ParameterServer.Fast.Core.Updaters;

/// <summary>
/// Hyper-parameters of the update rules; each rule reads the ones it needs.
/// For FTRL, <see cref="LearningRate"/> is α and <see cref="Beta"/> is β of the paper.
/// </summary>
public readonly record struct UpdaterSettings(
    float LearningRate = 0.01f,
    float L1 = 0f,
    float L2 = 0f,
    float Beta1 = 0.9f,
    float Beta2 = 0.999f,
    float Epsilon = 1e-8f,
    float Beta = 1f)
{
    public static UpdaterSettings Default => new(LearningRate: 0.01f);

    /// <summary>Throws naming the first setting out of its domain.</summary>
    public void Validate()
    {
        if (!(LearningRate > 0) || !float.IsFinite(LearningRate))
            throw new ArgumentException($"learning rate must be positive and finite, got {LearningRate}");
        if (!(L1 >= 0) || !(L2 >= 0))
            throw new ArgumentException($"L1 and L2 must be non-negative, got {L1} and {L2}");
        if (!(Beta1 >= 0 && Beta1 < 1) || !(Beta2 >= 0 && Beta2 < 1))
            throw new ArgumentException($"Adam betas must be in [0, 1), got {Beta1} and {Beta2}");
        if (!(Epsilon > 0) || !(Beta >= 0))
            throw new ArgumentException($"epsilon must be positive and FTRL beta non-negative, got {Epsilon} and {Beta}");
    }
}
