namespace ParameterServer.Fast.Core.Tests.Kernels;

/// <summary>Every length 0..256 (all tails of every vector width) plus large and odd sizes.</summary>
internal static class KernelLengths
{
    public static IEnumerable<int> All()
    {
        for (int n = 0; n <= 256; n++)
            yield return n;
        foreach (int n in new[] { 511, 1000, 1024, 4099, (1 << 16) + 3, 1 << 20 })
            yield return n;
    }

    public static readonly int[] Misalignments = [0, 1, 3];
}
