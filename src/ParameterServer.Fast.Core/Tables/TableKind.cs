namespace ParameterServer.Fast.Core.Tables;

public enum TableKind
{
    /// <summary>Every key of a range, contiguous: layers of a neural network, count-min sketches.</summary>
    Dense,
    /// <summary>Arbitrary keys from the whole uint64 space: features of click logs, embeddings.</summary>
    Sparse,
}
