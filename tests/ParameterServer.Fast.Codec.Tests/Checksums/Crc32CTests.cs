using System.Text;
using ParameterServer.Fast.Codec.Checksums;

namespace ParameterServer.Fast.Codec.Tests.Checksums;

public class Crc32CTests
{
    [Test]
    public void KnownVectorMatchesOnBothPaths()
    {
        byte[] data = Encoding.ASCII.GetBytes("123456789");
        Assert.That(Crc32C.Compute(data), Is.EqualTo(0xE3069283u));
        Assert.That(Crc32C.AppendSoftware(0, data), Is.EqualTo(0xE3069283u));
        Assert.That(Crc32C.Compute([]), Is.EqualTo(0u));
        // RFC 3720 B.4: 32 bytes of zeros.
        Assert.That(Crc32C.Compute(new byte[32]), Is.EqualTo(0x8A9136AAu));
        Assert.That(Crc32C.AppendSoftware(0, new byte[32]), Is.EqualTo(0x8A9136AAu));
    }

    [Test]
    public void HardwareAndTableAgreeOnEveryLengthAndSplit()
    {
        var rng = new Random(3);
        var data = new byte[1100];
        rng.NextBytes(data);
        for (int length = 0; length <= data.Length; length += length < 80 ? 1 : 37)
        {
            ReadOnlySpan<byte> d = data.AsSpan(1, Math.Min(length, data.Length - 1));
            uint whole = Crc32C.Compute(d);
            Assert.That(Crc32C.AppendSoftware(0, d), Is.EqualTo(whole), $"length {length}");
            int split = length / 3;
            Assert.That(Crc32C.Append(Crc32C.Compute(d[..split]), d[split..]), Is.EqualTo(whole), $"split {split} of {length}");
        }
    }
}
