using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ParameterServer.Fast.Core.Memory;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Core.Kernels;

/// <summary>
/// Drivers that run an <see cref="IUpdateRule"/> over a table's rows: a contiguous range (a dense
/// push) in Vector256 steps, or scattered rows by slot (a sparse push). The rule's StateCount is
/// a JIT-time constant, so state arrays a rule does not use are never loaded.
/// </summary>
public static class UpdateKernels
{
    /// <summary>Applies gradients to rows [firstRow, firstRow + grads.Length / width).</summary>
    public static void ApplyRange<TRule>(RowStore store, long firstRow, ReadOnlySpan<float> grads, in UpdaterSettings p)
        where TRule : struct, IUpdateRule
    {
        int width = store.Width;
        if (grads.Length % width != 0)
            throw new ArgumentException($"{grads.Length} gradient values do not make whole rows of width {width}");
        long rows = grads.Length / width;
        if (firstRow < 0 || firstRow + rows > store.CommittedRows)
            throw new ArgumentOutOfRangeException(nameof(firstRow), $"rows [{firstRow}, {firstRow + rows}) outside the {store.CommittedRows} rows of the table");
        nuint offset = (nuint)(firstRow * width);
        Run<TRule>(store, offset, ref MemoryMarshal.GetReference(grads), (nuint)grads.Length, p, grads.IsEmpty);
    }

    /// <summary>Applies row i of <paramref name="grads"/> to row slots[i]; slots must be distinct and in range.</summary>
    public static void ApplyRows<TRule>(RowStore store, ReadOnlySpan<int> slots, ReadOnlySpan<float> grads, in UpdaterSettings p)
        where TRule : struct, IUpdateRule
    {
        int width = store.Width;
        if ((long)slots.Length * width != grads.Length)
            throw new ArgumentException($"{slots.Length} rows of width {width} need {(long)slots.Length * width} values, got {grads.Length}");
        long rows = store.CommittedRows;
        ref float g = ref MemoryMarshal.GetReference(grads);
        if (width == 1)
        {
            ApplyScalarRows<TRule>(store, slots, ref g, rows, p);
            return;
        }
        for (int i = 0; i < slots.Length; i++)
        {
            int slot = slots[i];
            if ((ulong)slot >= (ulong)rows)
                throw new ArgumentOutOfRangeException(nameof(slots), slot, $"slot outside the {rows} rows of the table");
            Run<TRule>(store, (nuint)((long)slot * width), ref Unsafe.Add(ref g, (nint)i * width), (nuint)width, p, false);
        }
    }

    // Rows of one float (the common sparse case): one scalar rule call per key, no vector set-up.
    private static void ApplyScalarRows<TRule>(RowStore store, ReadOnlySpan<int> slots, ref float g, long rows, in UpdaterSettings p)
        where TRule : struct, IUpdateRule
    {
        ref float w = ref store.WeightRef;
        ref float s0 = ref TRule.StateCount > 0 ? ref store.StateRef(0) : ref Unsafe.NullRef<float>();
        ref float s1 = ref TRule.StateCount > 1 ? ref store.StateRef(1) : ref Unsafe.NullRef<float>();
        ref float s2 = ref TRule.StateCount > 2 ? ref store.StateRef(2) : ref Unsafe.NullRef<float>();
        ref float s3 = ref TRule.StateCount > 3 ? ref store.StateRef(3) : ref Unsafe.NullRef<float>();
        float unused = 0f;
        for (int i = 0; i < slots.Length; i++)
        {
            int slot = slots[i];
            if ((ulong)slot >= (ulong)rows)
                throw new ArgumentOutOfRangeException(nameof(slots), slot, $"slot outside the {rows} rows of the table");
            TRule.Apply(
                ref Unsafe.Add(ref w, slot),
                ref TRule.StateCount > 0 ? ref Unsafe.Add(ref s0, slot) : ref unused,
                ref TRule.StateCount > 1 ? ref Unsafe.Add(ref s1, slot) : ref unused,
                ref TRule.StateCount > 2 ? ref Unsafe.Add(ref s2, slot) : ref unused,
                ref TRule.StateCount > 3 ? ref Unsafe.Add(ref s3, slot) : ref unused,
                Unsafe.Add(ref g, i), p);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Run<TRule>(RowStore store, nuint offset, ref float g, nuint n, in UpdaterSettings p, bool empty)
        where TRule : struct, IUpdateRule
    {
        if (empty)
            return;
        ref float w = ref Unsafe.Add(ref store.WeightRef, offset);
        ref float s0 = ref TRule.StateCount > 0 ? ref Unsafe.Add(ref store.StateRef(0), offset) : ref Unsafe.NullRef<float>();
        ref float s1 = ref TRule.StateCount > 1 ? ref Unsafe.Add(ref store.StateRef(1), offset) : ref Unsafe.NullRef<float>();
        ref float s2 = ref TRule.StateCount > 2 ? ref Unsafe.Add(ref store.StateRef(2), offset) : ref Unsafe.NullRef<float>();
        ref float s3 = ref TRule.StateCount > 3 ? ref Unsafe.Add(ref store.StateRef(3), offset) : ref Unsafe.NullRef<float>();
        nuint i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= n; i += 8)
            {
                Vector256<float> vw = Vector256.LoadUnsafe(ref w, i);
                Vector256<float> v0 = TRule.StateCount > 0 ? Vector256.LoadUnsafe(ref s0, i) : default;
                Vector256<float> v1 = TRule.StateCount > 1 ? Vector256.LoadUnsafe(ref s1, i) : default;
                Vector256<float> v2 = TRule.StateCount > 2 ? Vector256.LoadUnsafe(ref s2, i) : default;
                Vector256<float> v3 = TRule.StateCount > 3 ? Vector256.LoadUnsafe(ref s3, i) : default;
                TRule.Apply(ref vw, ref v0, ref v1, ref v2, ref v3, Vector256.LoadUnsafe(ref g, i), p);
                vw.StoreUnsafe(ref w, i);
                if (TRule.StateCount > 0) v0.StoreUnsafe(ref s0, i);
                if (TRule.StateCount > 1) v1.StoreUnsafe(ref s1, i);
                if (TRule.StateCount > 2) v2.StoreUnsafe(ref s2, i);
                if (TRule.StateCount > 3) v3.StoreUnsafe(ref s3, i);
            }
        }
        float unused = 0f;
        for (; i < n; i++)
        {
            TRule.Apply(
                ref Unsafe.Add(ref w, i),
                ref TRule.StateCount > 0 ? ref Unsafe.Add(ref s0, i) : ref unused,
                ref TRule.StateCount > 1 ? ref Unsafe.Add(ref s1, i) : ref unused,
                ref TRule.StateCount > 2 ? ref Unsafe.Add(ref s2, i) : ref unused,
                ref TRule.StateCount > 3 ? ref Unsafe.Add(ref s3, i) : ref unused,
                Unsafe.Add(ref g, i), p);
        }
    }
}
