namespace ParameterServer.Fast.Codec.Frames;

/// <summary>
/// The header fields a sender chooses; the writer adds flags, counts, lengths and the CRC.
/// <see cref="Argument"/> is message-specific: an error code, a range-map version, a barrier id.
/// </summary>
public readonly record struct FrameHeader(
    MessageType Type,
    uint TableId = 0,
    uint SenderId = 0,
    ulong RequestId = 0,
    long Clock = 0,
    uint Argument = 0);
