namespace ParameterServer.Fast.Apps.Mlp;

/// <summary>A multi-layer perceptron input → hidden (ReLU) → 10 classes (softmax), Adam or SGD on the servers.</summary>
public sealed record MlpOptions
{
    /// <summary>The servers' updater: <see cref="Core.Updaters.UpdaterKind.Adam"/> or <see cref="Core.Updaters.UpdaterKind.Sgd"/>.</summary>
    public Core.Updaters.UpdaterKind Optimizer { get; init; } = Core.Updaters.UpdaterKind.Adam;

    /// <summary>The learning rate each optimizer starts from when none is given.</summary>
    public static float DefaultLearningRate(Core.Updaters.UpdaterKind optimizer) => optimizer == Core.Updaters.UpdaterKind.Sgd ? 0.05f : 0.001f;

    /// <summary>A folder of IDX files (train-* and t10k-*).</summary>
    public string DataFolder { get; init; } = Data.IdxReader.DebianFashionMnist;
    public int Hidden { get; init; } = 256;
    public int Epochs { get; init; } = 3;
    public int BatchSize { get; init; } = 64;
    public float LearningRate { get; init; } = 0.001f;
    /// <summary>Bounded delay τ between workers.</summary>
    public int MaxDelay { get; init; } = 1;
    /// <summary>Use only this many training examples (0: all), for quick tests.</summary>
    public int Limit { get; init; }
    public ulong Seed { get; init; } = 1;
}
