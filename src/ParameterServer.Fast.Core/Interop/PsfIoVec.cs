using System.Runtime.InteropServices;

namespace ParameterServer.Fast.Core.Interop;

/// <summary>
/// psf_iovec of psf.h: one buffer of a gather list, 16 bytes on every 64-bit platform.
/// <code>
///   0          8          16
///   +----------+----------+
///   | base     | length   |
///   +----------+----------+
/// </code>
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct PsfIoVec
{
    public const int Size = 16;

    /// <summary>const void *base</summary>
    public void* Base;

    /// <summary>uint64_t length</summary>
    public ulong Length;
}
