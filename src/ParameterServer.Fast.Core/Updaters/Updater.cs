using ParameterServer.Fast.Core.Kernels;
using ParameterServer.Fast.Core.Memory;

namespace ParameterServer.Fast.Core.Updaters;

/// <summary>
/// A table's server-side update rule with its settings. One virtual call per push; inside it the
/// rule is a generic struct, so the per-element work is inlined.
/// </summary>
public abstract class Updater
{
    private protected Updater(UpdaterSettings settings)
    {
        settings.Validate();
        Settings = settings;
    }

    public UpdaterSettings Settings { get; }

    /// <summary>The built-in kind, or null for a user-supplied rule.</summary>
    public abstract UpdaterKind? Kind { get; }

    /// <summary>State values kept per weight.</summary>
    public abstract int StateCount { get; }

    public abstract string Name { get; }

    /// <summary>Applies gradients to the contiguous rows starting at <paramref name="firstRow"/>.</summary>
    public abstract void ApplyRange(RowStore store, long firstRow, ReadOnlySpan<float> gradients);

    /// <summary>Applies row i of <paramref name="gradients"/> to row slots[i].</summary>
    public abstract void ApplyRows(RowStore store, ReadOnlySpan<int> slots, ReadOnlySpan<float> gradients);

    public static Updater Create(UpdaterKind kind, UpdaterSettings settings) => kind switch
    {
        UpdaterKind.Sum => new RuleUpdater<SumRule>(settings),
        UpdaterKind.Sgd => new RuleUpdater<SgdRule>(settings),
        UpdaterKind.Adagrad => new RuleUpdater<AdagradRule>(settings),
        UpdaterKind.Ftrl => new RuleUpdater<FtrlRule>(settings),
        UpdaterKind.Adam => new RuleUpdater<AdamRule>(settings),
        UpdaterKind.BlockProximal => new BlockProximalUpdater(settings),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown updater"),
    };

    /// <summary>An updater running a user-supplied rule.</summary>
    public static Updater Create<TRule>(UpdaterSettings settings) where TRule : struct, IUpdateRule => new RuleUpdater<TRule>(settings);

    /// <summary>The row width the kind needs, or null when it updates each value on its own (any width).</summary>
    public static int? RowWidthOf(UpdaterKind kind) => kind == UpdaterKind.BlockProximal ? BlockProximalUpdater.Width : null;

    /// <summary>Parses a name as the command line and table specs spell it (sum, sgd, adagrad, ftrl, adam, blockproximal).</summary>
    public static UpdaterKind ParseKind(string name) =>
        Enum.TryParse(name, ignoreCase: true, out UpdaterKind kind) && Enum.IsDefined(kind)
            ? kind
            : throw new ArgumentException($"unknown updater '{name}': use sum, sgd, adagrad, ftrl, adam or blockproximal");

    private sealed class RuleUpdater<TRule>(UpdaterSettings settings) : Updater(settings) where TRule : struct, IUpdateRule
    {
        public override UpdaterKind? Kind => TRule.Kind;

        public override int StateCount => TRule.StateCount;

        public override string Name => TRule.Kind?.ToString().ToLowerInvariant() ?? typeof(TRule).Name;

        public override void ApplyRange(RowStore store, long firstRow, ReadOnlySpan<float> gradients) =>
            UpdateKernels.ApplyRange<TRule>(store, firstRow, gradients, Settings);

        public override void ApplyRows(RowStore store, ReadOnlySpan<int> slots, ReadOnlySpan<float> gradients) =>
            UpdateKernels.ApplyRows<TRule>(store, slots, gradients, Settings);
    }
}
