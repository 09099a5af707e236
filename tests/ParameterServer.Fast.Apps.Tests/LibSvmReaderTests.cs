using System.Text;
using ParameterServer.Fast.Apps.Data;

namespace ParameterServer.Fast.Apps.Tests;

public class LibSvmReaderTests
{
    private static LibSvmReader.Result Parse(string text, bool skip = false) => LibSvmReader.Parse(Encoding.UTF8.GetBytes(text), "t.libsvm", skip);

    [Test]
    public void ReadsLabelsFeaturesCommentsAndCrLf()
    {
        LibSvmReader.Result r = Parse("+1 1:0.5 3:2 # a comment\r\n-1 qid:7 2:1e-3\n\n# only a comment\n0 18446744073709551615:4\n");
        SparseDataset d = r.Data;
        Assert.That(d.Labels, Is.EqualTo(new float[] { 1, 0, 0 }));
        Assert.That(d.KeysOf(0).ToArray(), Is.EqualTo(new ulong[] { 1, 3 }));
        Assert.That(d.ValuesOf(0).ToArray(), Is.EqualTo(new float[] { 0.5f, 2f }));
        Assert.That(d.KeysOf(1).ToArray(), Is.EqualTo(new ulong[] { 2 }));
        Assert.That(d.KeysOf(2).ToArray(), Is.EqualTo(new ulong[] { ulong.MaxValue }));
        Assert.That(r.SkippedLines, Is.Zero);
    }

    [TestCase("1 3:1 2:1", "t.libsvm:1:7", "not greater")]
    [TestCase("1 2:1\nyes 1:1", "t.libsvm:2:1", "label 'yes'")]
    [TestCase("1 2:1\n0 4:1\n1 x:1", "t.libsvm:3:3", "feature index 'x'")]
    [TestCase("1 5:nan", "t.libsvm:1:3", "not a finite number")]
    [TestCase("1 5", "t.libsvm:1:3", "expected index:value")]
    [TestCase("1 99999999999999999999:1", "t.libsvm:1:3", "not a whole number")]
    public void ABadLineIsNamedByFileLineAndColumn(string text, string where, string what)
    {
        var e = Assert.Throws<DataFormatException>(() => Parse(text));
        Assert.That(e!.Message, Does.StartWith(where).And.Contain(what));
    }

    [Test]
    public void SkippingBadLinesCountsThem()
    {
        LibSvmReader.Result r = Parse("1 1:1\n0 2:x\n1 3:1\n1 5:1 4:1\n", skip: true);
        Assert.That(r.Data.Count, Is.EqualTo(2));
        Assert.That(r.SkippedLines, Is.EqualTo(2));
        Assert.That(r.FirstErrors[0], Does.StartWith("t.libsvm:2:"));
        Assert.That(r.FirstErrors[1], Does.StartWith("t.libsvm:4:"));
    }

    [Test]
    public void LargeFilesParsedInParallelKeepOrderAndLineNumbers()
    {
        var generator = new ClickLogGenerator { Examples = 60_000, Seed = 3 };
        SparseDataset data = generator.Generate();
        string path = Path.Combine(Path.GetTempPath(), $"psf-{Guid.NewGuid():N}.libsvm");
        try
        {
            LibSvmReader.Write(data, path);
            Assert.That(new FileInfo(path).Length, Is.GreaterThan(2 << 20), "big enough to be split into chunks");
            SparseDataset back = LibSvmReader.Read(path).Data;
            Assert.That(back.Labels, Is.EqualTo(data.Labels));
            Assert.That(back.Offsets, Is.EqualTo(data.Offsets));
            Assert.That(back.Keys, Is.EqualTo(data.Keys));
            // A bad line deep in a later chunk is still named by its true line number.
            string[] lines = File.ReadAllLines(path);
            lines[54_321] = "1 7:1 bad";
            File.WriteAllLines(path, lines);
            var e = Assert.Throws<DataFormatException>(() => LibSvmReader.Read(path));
            Assert.That(e!.Message, Does.Contain(":54322:"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void RandomBytesNeverThrowAnythingButDataFormatException()
    {
        var rng = new Random(9);
        byte[] alphabet = Encoding.ASCII.GetBytes("0123456789:.-+eE #\n\r\tqidx");
        for (int i = 0; i < 20_000; i++)
        {
            var bytes = new byte[rng.Next(0, 80)];
            for (int b = 0; b < bytes.Length; b++)
                bytes[b] = rng.Next(4) == 0 ? (byte)rng.Next(256) : alphabet[rng.Next(alphabet.Length)];
            try
            {
                LibSvmReader.Parse(bytes, "fuzz", skipBadLines: i % 2 == 0);
            }
            catch (DataFormatException)
            {
                // The only acceptable failure.
            }
        }
        Assert.Pass();
    }
}
