namespace ParameterServer.Fast.Transport.Shm;

/// <summary>
/// The record types of a shm connection (psf_shm_commit takes the low 24 bits only, so chunking
/// is ours, not psf.h's chunk flags). A frame that fits one record (up to half a ring) is one FRAME
/// record read in place; a larger one is FRAME_FIRST [u64 total | bytes], FRAME_NEXT …, FRAME_LAST.
/// </summary>
internal static class ShmRecords
{
    public const int Handshake = 1;
    public const int Frame = 2;
    /// <summary>Sent by an orderly close, so the peer can tell it from a crash.</summary>
    public const int Goodbye = 3;

    public const int FrameFirst = 4;
    public const int FrameNext = 5;
    public const int FrameLast = 6;
    public const int TotalPrefixBytes = 8;

    /// <summary>256 KiB chunks for frames larger than a record: 64 system-call-free records per 16 MiB, each still L2-sized.</summary>
    public const int ChunkBytes = 256 * 1024;

    /// <summary>100 ms: how long a blocked reader or writer parks before it looks at its own close flag.</summary>
    public const long PollNs = 100_000_000;
}
