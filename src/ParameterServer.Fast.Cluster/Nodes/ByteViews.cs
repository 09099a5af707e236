using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using CommunityToolkit.HighPerformance;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// Float memory seen as bytes, for sending a caller's values zero-copy. Casting a
/// <see cref="ReadOnlyMemory{T}"/> allocates a wrapper, so the wrapper of each whole array (or
/// memory manager) is made once, kept while that array lives, and sliced per request: a worker
/// pushing from the same buffers allocates nothing.
/// </summary>
internal static class ByteViews
{
    private sealed class View(ReadOnlyMemory<byte> bytes)
    {
        public ReadOnlyMemory<byte> Bytes { get; } = bytes;
    }

    private static readonly ConditionalWeakTable<object, View> s_views = [];

    public static ReadOnlyMemory<byte> Of(ReadOnlyMemory<float> values)
    {
        if (MemoryMarshal.TryGetArray(values, out ArraySegment<float> segment) && segment.Array is { } array)
        {
            View whole = s_views.GetValue(array, static a => new View(((float[])a).AsMemory().Cast<float, byte>()));
            return whole.Bytes.Slice(segment.Offset * sizeof(float), segment.Count * sizeof(float));
        }
        if (MemoryMarshal.TryGetMemoryManager(values, out MemoryManager<float>? manager, out int start, out int length))
        {
            View whole = s_views.GetValue(manager, static m => new View(((MemoryManager<float>)m).Memory.Cast<float, byte>()));
            return whole.Bytes.Slice(start * sizeof(float), length * sizeof(float));
        }
        return values.Cast<float, byte>();
    }
}
