using ParameterServer.Fast.Core.Kernels;

namespace ParameterServer.Fast.Core.Tests.Kernels;

[Category("Kernels")]
public class SlotKernelTests
{
    [TestCase(1)]
    [TestCase(3)]
    [TestCase(8)]
    [TestCase(17)]
    public void GatherCopiesTheRowsOfEverySlot(int width)
    {
        var rng = new Random(width);
        const int rows = 300;
        float[] table = [.. Enumerable.Range(0, rows * width).Select(i => (float)i)];
        for (int count = 0; count <= 64; count++)
        {
            int[] slots = [.. Enumerable.Range(0, count).Select(_ => rng.Next(rows))];
            var dst = new float[count * width];
            SlotKernels.Gather(table, slots, width, dst);
            for (int i = 0; i < count; i++)
            {
                for (int c = 0; c < width; c++)
                    Assert.That(dst[(i * width) + c], Is.EqualTo(table[(slots[i] * width) + c]));
            }
        }
    }

    [TestCase(1)]
    [TestCase(5)]
    [TestCase(16)]
    public void ScatterAddAddsEachRowOnce(int width)
    {
        var rng = new Random(width + 100);
        const int rows = 500;
        for (int count = 0; count <= 80; count++)
        {
            float[] table = [.. Enumerable.Range(0, rows * width).Select(_ => (float)rng.NextDouble())];
            float[] expected = (float[])table.Clone();
            int[] slots = [.. Enumerable.Range(0, rows).OrderBy(_ => rng.Next()).Take(count)];
            float[] src = [.. Enumerable.Range(0, count * width).Select(_ => (float)rng.NextDouble())];
            for (int i = 0; i < count; i++)
            {
                for (int c = 0; c < width; c++)
                    expected[(slots[i] * width) + c] += src[(i * width) + c];
            }
            SlotKernels.ScatterAdd(table, slots, src, width);
            Assert.That(table, Is.EqualTo(expected));
        }
    }

    [Test]
    public void SlotsOutsideTheTableAreRejected()
    {
        var table = new float[10];
        Assert.Throws<ArgumentOutOfRangeException>(() => SlotKernels.Gather(table, [10], 1, new float[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => SlotKernels.ScatterAdd(table, [-1], new float[1], 1));
        Assert.Throws<ArgumentException>(() => SlotKernels.ScatterAdd(table, [1, 2], new float[3], 1));
    }
}
