namespace ParameterServer.Fast.Codec.Values;

/// <summary>How values travel: full float32, or 16-bit with round to nearest even.</summary>
public enum ValueQuantization
{
    None,
    /// <summary>IEEE binary16: 11 significant bits, range ±65 504 (gradients and deltas fit).</summary>
    Fp16,
    /// <summary>bfloat16: float32's range with 8 significant bits (weights fit, no overflow).</summary>
    Bf16,
}
