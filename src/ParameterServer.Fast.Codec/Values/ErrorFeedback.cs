namespace ParameterServer.Fast.Codec.Values;

/// <summary>
/// Worker-side memory of what quantisation dropped: before a value is quantised its residual is
/// added, and what the 16-bit value cannot hold becomes the new residual. Over iterations the sum
/// of what was sent equals the sum of the true values to within one final residual, so a
/// gradient component smaller than one fp16/bf16 step still reaches the server eventually.
/// One instance per pushed dense range or cached key list: residual i belongs to value i.
/// </summary>
public sealed class ErrorFeedback(int length)
{
    private readonly float[] _residual = new float[length];

    public int Length => _residual.Length;

    /// <summary>The carried error, position-aligned with the values pushed; pass it to the writer.</summary>
    public Span<float> Residual => _residual;

    public void Reset() => Array.Clear(_residual);
}
