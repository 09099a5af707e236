using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Core.Tables;

/// <summary>
/// What a table is: declared by the application, sent to the servers, which create the table
/// on demand. For a dense table <see cref="Range"/> is every key it holds; for a sparse table it
/// bounds the keys it accepts (all of them by default).
/// </summary>
public sealed record TableSpec
{
    public required string Name { get; init; }
    public TableKind Kind { get; init; } = TableKind.Sparse;
    public int Width { get; init; } = 1;
    public KeyRange Range { get; init; } = KeyRange.All;
    public UpdaterKind Updater { get; init; } = UpdaterKind.Sum;
    public UpdaterSettings Settings { get; init; } = UpdaterSettings.Default;
    public TableInitializer Initializer { get; init; }

    /// <summary>Rows a sparse table may grow to on one server (address space is reserved, not memory).</summary>
    public long MaxRows { get; init; } = 1L << 28;

    public static TableSpec Dense(string name, KeyRange range, int width = 1, UpdaterKind updater = UpdaterKind.Sum) =>
        new() { Name = name, Kind = TableKind.Dense, Range = range, Width = width, Updater = updater };

    public static TableSpec Sparse(string name, int width = 1, UpdaterKind updater = UpdaterKind.Sum) =>
        new() { Name = name, Kind = TableKind.Sparse, Width = width, Updater = updater };

    /// <summary>Throws naming the first field that is out of its domain.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name) || Name.Length > 128)
            throw new ArgumentException($"table name must be 1..128 characters, got '{Name}'");
        if (Width < 1 || Width > 1 << 20)
            throw new ArgumentException($"table '{Name}': width must be in 1..{1 << 20}, got {Width}");
        if (Updaters.Updater.RowWidthOf(Updater) is int rowWidth && Width != rowWidth)
            throw new ArgumentException($"table '{Name}': the {Updater} updater needs rows of width {rowWidth}, got {Width}");
        if (Kind == TableKind.Dense && (Range.IsEmpty || Range.Size > int.MaxValue))
            throw new ArgumentException($"table '{Name}': a dense range must hold 1..{int.MaxValue} keys, got {Range}");
        if (Kind == TableKind.Sparse && (MaxRows < 1 || MaxRows > int.MaxValue))
            throw new ArgumentException($"table '{Name}': max rows must be in 1..{int.MaxValue}, got {MaxRows}");
        Settings.Validate();
    }
}
