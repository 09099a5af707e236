using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ParameterServer.Fast.Core.Kernels;

/// <summary>
/// Kernels over rows addressed by slot index: a table's row r of width w is
/// table[r·w .. r·w+w). These serve sparse pushes and pulls once keys are resolved to slots.
/// </summary>
public static class SlotKernels
{
    /// <summary>dst[i·w..] = table[slots[i]·w..] for every i: the rows of a pull.</summary>
    public static void Gather(ReadOnlySpan<float> table, ReadOnlySpan<int> slots, int width, Span<float> dst)
    {
        CheckShape(table.Length, slots.Length, width, dst.Length);
        ref float t = ref MemoryMarshal.GetReference(table);
        ref float d = ref MemoryMarshal.GetReference(dst);
        uint rows = (uint)(table.Length / width);
        if (width == 1)
        {
            for (int i = 0; i < slots.Length; i++)
            {
                uint slot = CheckSlot(slots[i], rows);
                Unsafe.Add(ref d, i) = Unsafe.Add(ref t, slot);
            }
            return;
        }
        for (int i = 0; i < slots.Length; i++)
        {
            uint slot = CheckSlot(slots[i], rows);
            MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref t, (nint)slot * width), width)
                .CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref d, (nint)i * width), width));
        }
    }

    /// <summary>table[slots[i]·w..] += src[i·w..] for every i: the rows of a push. Slots must be distinct.</summary>
    public static void ScatterAdd(Span<float> table, ReadOnlySpan<int> slots, ReadOnlySpan<float> src, int width)
    {
        CheckShape(table.Length, slots.Length, width, src.Length);
        ref float t = ref MemoryMarshal.GetReference(table);
        ref float s = ref MemoryMarshal.GetReference(src);
        uint rows = (uint)(table.Length / width);
        if (width == 1)
        {
            for (int i = 0; i < slots.Length; i++)
            {
                uint slot = CheckSlot(slots[i], rows);
                Unsafe.Add(ref t, slot) += Unsafe.Add(ref s, i);
            }
            return;
        }
        for (int i = 0; i < slots.Length; i++)
        {
            uint slot = CheckSlot(slots[i], rows);
            VectorKernels.SumInto(
                MemoryMarshal.CreateSpan(ref Unsafe.Add(ref t, (nint)slot * width), width),
                MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref s, (nint)i * width), width));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint CheckSlot(int slot, uint rows)
    {
        if ((uint)slot >= rows)
            ThrowSlot(slot, rows);
        return (uint)slot;
    }

    private static void CheckShape(int tableLength, int slotCount, int width, int rowsLength)
    {
        if (width <= 0)
            throw new ArgumentOutOfRangeException(nameof(width), width, "row width must be positive");
        if ((long)slotCount * width != rowsLength)
            throw new ArgumentException($"{slotCount} slots of width {width} need {(long)slotCount * width} values, got {rowsLength}");
        if (tableLength % width != 0)
            throw new ArgumentException($"table length {tableLength} is not a multiple of width {width}");
    }

    [DoesNotReturn]
    private static void ThrowSlot(int slot, uint rows) =>
        throw new ArgumentOutOfRangeException(nameof(slot), slot, $"slot outside the table's {rows} rows");
}
