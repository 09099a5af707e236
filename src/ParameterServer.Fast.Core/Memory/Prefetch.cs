using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace ParameterServer.Fast.Core.Memory;

/// <summary>
/// Software prefetch: hash-table lookups of a batch of keys are pipelined so several cache misses
/// are in flight at once instead of one after another. A no-op where the CPU has no prefetch.
/// </summary>
public static unsafe class Prefetch
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Read<T>(ref T location)
    {
        if (Sse.IsSupported)
            Sse.Prefetch0(Unsafe.AsPointer(ref location));
    }
}
