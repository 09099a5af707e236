namespace ParameterServer.Fast.Codec.Frames;

/// <summary>
/// What a receiver accepts, checked before anything is allocated or decoded: a peer cannot make
/// it reserve more than these. Defaults: 256 MiB frames hold 32 M raw keys and 32 M values, the
/// largest push a 2-core worker sends in one piece (bigger pushes are sliced per server).
/// </summary>
public readonly record struct FrameLimits(int MaxFrameBytes, int MaxKeyCount, int MaxValueCount)
{
    public static FrameLimits Default { get; } = new(256 << 20, 32 << 20, 64 << 20);
}
