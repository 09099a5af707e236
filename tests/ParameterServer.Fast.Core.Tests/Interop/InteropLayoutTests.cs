using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ParameterServer.Fast.Core.Interop;

namespace ParameterServer.Fast.Core.Tests.Interop;

/// <summary>The structs passed to libpsf_native have the sizes and offsets of native/include/psf.h.</summary>
public class InteropLayoutTests
{
    [Test]
    public void PsfIoVecIsTwoWords()
    {
        Assert.That(Unsafe.SizeOf<PsfIoVec>(), Is.EqualTo(PsfIoVec.Size));
        Assert.That(Marshal.OffsetOf<PsfIoVec>(nameof(PsfIoVec.Base)), Is.EqualTo((nint)0));
        Assert.That(Marshal.OffsetOf<PsfIoVec>(nameof(PsfIoVec.Length)), Is.EqualTo((nint)8));
    }

    [Test]
    public void RdmaEventMatchesPsfRdmaEvent()
    {
        Assert.That(Unsafe.SizeOf<RdmaEvent>(), Is.EqualTo(RdmaEvent.Size));
        Assert.That(Marshal.OffsetOf<RdmaEvent>(nameof(RdmaEvent.Kind)), Is.EqualTo((nint)0));
        Assert.That(Marshal.OffsetOf<RdmaEvent>(nameof(RdmaEvent.Type)), Is.EqualTo((nint)4));
        Assert.That(Marshal.OffsetOf<RdmaEvent>(nameof(RdmaEvent.Length)), Is.EqualTo((nint)8));
        Assert.That(Marshal.OffsetOf<RdmaEvent>(nameof(RdmaEvent.Data)), Is.EqualTo((nint)16));
        Assert.That(Marshal.OffsetOf<RdmaEvent>(nameof(RdmaEvent.Token)), Is.EqualTo((nint)24));
    }

    [Test]
    public void RdmaStatsMatchesPsfRdmaStats()
    {
        Assert.That(Unsafe.SizeOf<RdmaStats>(), Is.EqualTo(RdmaStats.Size));
        Assert.That(Marshal.OffsetOf<RdmaStats>(nameof(RdmaStats.Credits)), Is.EqualTo((nint)0));
        Assert.That(Marshal.OffsetOf<RdmaStats>(nameof(RdmaStats.RecvSlots)), Is.EqualTo((nint)4));
        Assert.That(Marshal.OffsetOf<RdmaStats>(nameof(RdmaStats.MrHits)), Is.EqualTo((nint)8));
        Assert.That(Marshal.OffsetOf<RdmaStats>(nameof(RdmaStats.MrBytes)), Is.EqualTo((nint)32));
    }
}
