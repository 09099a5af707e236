using ParameterServer.Fast.Core.Kernels;

namespace ParameterServer.Fast.Core.Tests.Kernels;

[Category("Kernels")]
public class VectorKernelTests
{
    [Test]
    public void SumIntoMatchesScalarAtEveryLengthAndAlignment()
    {
        var rng = new Random(1);
        foreach (int n in KernelLengths.All())
        {
            foreach (int mis in KernelLengths.Misalignments)
            {
                var dst = new GuardedArray(n, mis, rng);
                var src = new GuardedArray(n, (mis + 1) % 4, rng);
                float[] expected = dst.Copy();
                for (int i = 0; i < n; i++)
                    expected[i] += src.Span[i];
                VectorKernels.SumInto(dst.Span, src.Span);
                Assert.That(dst.Span.ToArray(), Is.EqualTo(expected), $"length {n}, misalignment {mis}");
                dst.AssertGuardsIntact();
            }
        }
    }

    [Test]
    public void AxpyMatchesFusedScalarAtEveryLength()
    {
        var rng = new Random(2);
        foreach (int n in KernelLengths.All())
        {
            var dst = new GuardedArray(n, n % 3, rng);
            var x = new GuardedArray(n, 0, rng);
            float[] expected = dst.Copy();
            for (int i = 0; i < n; i++)
                expected[i] = MathF.FusedMultiplyAdd(-0.75f, x.Span[i], expected[i]);
            VectorKernels.Axpy(dst.Span, -0.75f, x.Span);
            Assert.That(dst.Span.ToArray(), Is.EqualTo(expected).Within(1e-6f), $"length {n}");
            dst.AssertGuardsIntact();
        }
    }

    [Test]
    public void ScaleMatchesScalarAtEveryLength()
    {
        var rng = new Random(3);
        foreach (int n in KernelLengths.All())
        {
            var dst = new GuardedArray(n, n % 2, rng);
            float[] expected = dst.Copy();
            for (int i = 0; i < n; i++)
                expected[i] *= 1.5f;
            VectorKernels.Scale(dst.Span, 1.5f);
            Assert.That(dst.Span.ToArray(), Is.EqualTo(expected), $"length {n}");
            dst.AssertGuardsIntact();
        }
    }

    [Test]
    public void DotMatchesDoublePrecisionReference()
    {
        var rng = new Random(4);
        foreach (int n in KernelLengths.All())
        {
            var x = new GuardedArray(n, 1, rng);
            var y = new GuardedArray(n, 2, rng);
            double expected = 0;
            for (int i = 0; i < n; i++)
                expected += (double)x.Span[i] * y.Span[i];
            float actual = VectorKernels.Dot(x.Span, y.Span);
            Assert.That(actual, Is.EqualTo(expected).Within(1e-4 * Math.Sqrt(n + 1)), $"length {n}");
        }
    }

    [Test]
    public void MismatchedLengthsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => VectorKernels.SumInto(new float[3], new float[4]));
        Assert.Throws<ArgumentException>(() => VectorKernels.Axpy(new float[3], 1f, new float[2]));
        Assert.Throws<ArgumentException>(() => VectorKernels.Dot(new float[1], new float[2]));
    }

    [Test]
    public void ReportsWhichInstructionSetsRan()
    {
        // Shown in the test log so the runs with DOTNET_EnableAVX512F=0 etc. can be told apart.
        TestContext.Out.WriteLine($"Vector512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, " +
            $"Vector256 {System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated}, Vector128 {System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated}");
        Assert.Pass();
    }
}
