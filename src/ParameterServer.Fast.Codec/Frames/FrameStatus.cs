namespace ParameterServer.Fast.Codec.Frames;

/// <summary>
/// Outcomes of <see cref="FrameWriter"/> commits on the data path (values, not exceptions): the caller
/// rents a bigger buffer (<see cref="FrameLayout.MaxFrameLength"/>) and writes again.
/// </summary>
public enum FrameStatus
{
    Ok = 0,
    /// <summary>The claimed buffer cannot hold the frame.</summary>
    BufferTooSmall = -1,
}
