using System.Runtime.CompilerServices;

namespace ParameterServer.Fast.Core.Keys;

/// <summary>
/// A 64-bit mixer (the finaliser of MurmurHash3): every input bit flips about half the output
/// bits, so sequential or clustered feature ids spread evenly over hash tables and rings.
/// </summary>
public static class KeyHash
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong x)
    {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdUL;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53UL;
        x ^= x >> 33;
        return x;
    }
}
