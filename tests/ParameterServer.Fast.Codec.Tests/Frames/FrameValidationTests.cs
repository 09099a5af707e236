using System.Buffers.Binary;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Codec.Values;

namespace ParameterServer.Fast.Codec.Tests.Frames;

public class FrameValidationTests
{
    private static byte[] GoodPush(bool crc = false)
    {
        var buffer = new byte[1024];
        var w = FrameWriter.Claim(buffer, new FrameHeader(MessageType.Push, 1, 2, 3, 4));
        w.WriteKeys([1, 2, 300]);
        w.WriteValues([1f, 2f, 3f], ValueEncoding.Raw);
        return buffer[..w.Commit(crc)];
    }

    private static ProtocolException Bad(byte[] frame) =>
        Assert.Throws<ProtocolException>(() => ReadAll(frame))!;

    private static void ReadAll(byte[] frame)
    {
        var decoder = new FrameDecoder();
        Frame f = decoder.Read(frame);
        decoder.DecodeKeys(f, new ulong[f.KeyCount], null, out _);
        FrameDecoder.DecodeValues(f, new float[f.ValueCount]);
    }

    private static byte[] With(byte[] frame, int offset, uint value, int size = 4)
    {
        byte[] copy = [.. frame];
        if (size == 1)
            copy[offset] = (byte)value;
        else if (size == 2)
            BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(offset), (ushort)value);
        else
            BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(offset), value);
        return copy;
    }

    [Test]
    public void EachBadFieldIsNamedWithItsValue()
    {
        byte[] good = GoodPush();
        Assert.DoesNotThrow(() => ReadAll(good));
        Assert.That(Bad(good[..40]).Message, Does.Contain("frame length = 40"));
        Assert.That(Bad(With(good, FrameLayout.MagicOffset, 0xDEADBEEF)).Message, Does.Contain("magic = 3735928559"));
        Assert.That(Bad(With(good, FrameLayout.VersionOffset, 2, 1)).Message, Does.Contain("version = 2"));
        Assert.That(Bad(With(good, FrameLayout.TypeOffset, 99, 1)).Message, Does.Contain("message type = 99"));
        Assert.That(Bad(With(good, FrameLayout.TypeOffset, 0, 1)).Message, Does.Contain("message type = 0"));
        Assert.That(Bad(With(good, FrameLayout.FlagsOffset, 0x8000, 2)).Field, Is.EqualTo("flags"));
        Assert.That(Bad(With(good, FrameLayout.FlagsOffset, (uint)(FrameFlags.ValuesFp16 | FrameFlags.ValuesBf16), 2)).Message, Does.Contain("fp16 and bf16"));
        Assert.That(Bad(With(good, FrameLayout.FlagsOffset, (uint)(FrameFlags.KeysCached | FrameFlags.KeyRange), 2)).Message, Does.Contain("more than one key encoding"));
        Assert.That(Bad(With(good, FrameLayout.KeyCountOffset, uint.MaxValue)).Message, Does.Contain("key count = 4294967295"));
        Assert.That(Bad(With(good, FrameLayout.ValueCountOffset, 4)).Field, Is.EqualTo("values length"));
        Assert.That(Bad(With(good, FrameLayout.KeysLengthOffset, uint.MaxValue)).Field, Is.EqualTo("frame length"));
        Assert.That(Bad(With(good, FrameLayout.FrameLengthOffset, 1u << 31)).Message, Does.Contain("frame length = 2147483648"));
        Assert.That(Bad(With(good, FrameLayout.CrcOffset, 5)).Field, Is.EqualTo("crc32c"));
        Assert.That(Bad(With(GoodPush(crc: true), FrameLayout.HeaderSize + 1, 7, 1)).Field, Is.EqualTo("crc32c"));
    }

    [Test]
    public void MessageTypesAcceptOnlyTheirSections()
    {
        var buffer = new byte[256];
        var w = FrameWriter.Claim(buffer, new FrameHeader(MessageType.Heartbeat));
        w.WriteKeys([1]);
        Assert.That(Bad(buffer[..w.Commit()]).Message, Does.Contain("a Heartbeat carries no keys"));
        w = FrameWriter.Claim(buffer, new FrameHeader(MessageType.Push));
        w.WriteKeys([1]);
        Assert.That(Bad(buffer[..w.Commit()]).Message, Does.Contain("a Push needs values"));
        w = FrameWriter.Claim(buffer, new FrameHeader(MessageType.Push));
        w.WriteKeys([1, 2]);
        w.WriteValues([1f, 2f, 3f], ValueEncoding.Raw);
        Assert.That(Bad(buffer[..w.Commit()]).Message, Does.Contain("not a multiple of the key count 2"));
        w = FrameWriter.Claim(buffer, new FrameHeader(MessageType.KeyListRequest));
        w.WriteKeys([1]);
        Assert.That(Bad(buffer[..w.Commit()]).Message, Does.Contain("KeyListRequest carries the signature"));
    }

    [Test]
    public void AnErrorFrameCarriesItsMessage()
    {
        var buffer = new byte[256];
        var w = FrameWriter.Claim(buffer, new FrameHeader(MessageType.Error, Argument: 22));
        w.WriteExtras("table 3 is not declared"u8);
        Frame f = FrameReader.Read(buffer.AsSpan(0, w.Commit(crc: true)), FrameLimits.Default);
        Assert.That(f.Argument, Is.EqualTo(22));
        Assert.That(FrameDecoder.ErrorMessage(f), Is.EqualTo("table 3 is not declared"));
    }

    [Test]
    public void LimitsBoundWhatAPeerCanMakeUsReserve()
    {
        var buffer = new byte[1 << 16];
        var w = FrameWriter.Claim(buffer, new FrameHeader(MessageType.Pull));
        w.WriteKeyRange(0, 5000);
        int n = w.Commit();
        var strict = new FrameLimits(1 << 20, 4096, 4096);
        Assert.That(Assert.Throws<ProtocolException>(() => FrameReader.Read(buffer.AsSpan(0, n), strict))!.Message, Does.Contain("key count = 5000"));
        Assert.That(Assert.Throws<ProtocolException>(() => FrameReader.Read(buffer.AsSpan(0, n), new FrameLimits(70, 10, 10)))!.Field, Is.EqualTo("frame length"));
    }
}
