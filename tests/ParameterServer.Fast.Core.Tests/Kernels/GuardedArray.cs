namespace ParameterServer.Fast.Core.Tests.Kernels;

/// <summary>
/// A span with guard elements before and after, at a chosen misalignment: after a kernel runs,
/// <see cref="AssertGuardsIntact"/> proves it wrote nothing outside its span.
/// </summary>
internal sealed class GuardedArray
{
    private const int Guard = 32;
    private const float Sentinel = -12345.5f;
    private readonly float[] _storage;
    private readonly int _offset;

    public GuardedArray(int length, int misalignment, Random rng)
    {
        _storage = new float[length + (2 * Guard) + misalignment];
        _offset = Guard + misalignment;
        _storage.AsSpan().Fill(Sentinel);
        Length = length;
        for (int i = 0; i < length; i++)
            _storage[_offset + i] = (float)((rng.NextDouble() * 2) - 1);
    }

    public int Length { get; }

    public Span<float> Span => _storage.AsSpan(_offset, Length);

    public float[] Copy() => Span.ToArray();

    public void AssertGuardsIntact()
    {
        for (int i = 0; i < _offset; i++)
            Assert.That(_storage[i], Is.EqualTo(Sentinel), $"guard before the span was written at {i - _offset}");
        for (int i = _offset + Length; i < _storage.Length; i++)
            Assert.That(_storage[i], Is.EqualTo(Sentinel), $"guard after the span was written at +{i - _offset - Length}");
    }
}
