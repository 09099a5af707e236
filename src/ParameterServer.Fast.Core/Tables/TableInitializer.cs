using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Core.Tables;

public enum InitializerKind
{
    Zero,
    Constant,
    /// <summary>Uniform in [−Scale, Scale].</summary>
    Uniform,
    /// <summary>Normal with mean 0 and standard deviation Scale.</summary>
    Normal,
}

/// <summary>
/// The value a row starts with. It is a pure function of (seed, key, column), not a random
/// stream, so every replica, a restarted server and a pull of a row never pushed all agree.
/// </summary>
public readonly record struct TableInitializer(InitializerKind Kind = InitializerKind.Zero, float Scale = 0f, ulong Seed = 0)
{
    public static TableInitializer Zero => default;

    public bool IsZero => Kind == InitializerKind.Zero || (Kind == InitializerKind.Constant && Scale == 0f);

    public float Value(ulong key, int column)
    {
        switch (Kind)
        {
            case InitializerKind.Zero:
                return 0f;
            case InitializerKind.Constant:
                return Scale;
            case InitializerKind.Uniform:
                return (float)((2.0 * Unit(key, column, 0)) - 1.0) * Scale;
            default:
                // Box-Muller on two independent uniforms in (0, 1].
                double u1 = 1.0 - Unit(key, column, 1), u2 = Unit(key, column, 2);
                return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2)) * Scale;
        }
    }

    /// <summary>Fills one row.</summary>
    public void Fill(ulong key, Span<float> row)
    {
        if (IsZero)
        {
            row.Clear();
            return;
        }
        for (int c = 0; c < row.Length; c++)
            row[c] = Value(key, c);
    }

    // 53 random bits from the key's hash as a double in [0, 1).
    private double Unit(ulong key, int column, int stream) =>
        (KeyHash.Mix(KeyHash.Mix(key ^ Seed) + (ulong)((column * 4) + stream)) >> 11) * (1.0 / (1UL << 53));
}
