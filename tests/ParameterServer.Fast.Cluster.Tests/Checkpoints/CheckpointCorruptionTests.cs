using ParameterServer.Fast.Cluster.Checkpoints;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Cluster.Tests.Checkpoints;

/// <summary>
/// Any damage to a checkpoint file (a changed byte anywhere, a cut at any length, bytes appended,
/// bytes overwritten) is detected by both verify and restore as a <see cref="CheckpointCorruptException"/>
/// naming the file; never another exception, never a table restored from bad bytes.
/// </summary>
public sealed class CheckpointCorruptionTests
{
    private string _dir = "";
    private string _path = "";
    private byte[] _good = [];

    [OneTimeSetUp]
    public void WriteASample()
    {
        _dir = CheckpointSamples.TempFolder();
        var rng = new Random(42);
        // Small tables (a file of about 2 KB) so that every byte and every length can be tried.
        using Table dense = Table.Create(TableSpec.Dense("layer", new Core.Keys.KeyRange(100, 130), 2, UpdaterKind.Adam));
        dense.Push([101, 107, 129], [1, 2, 3, 4, 5, 6]);
        using Table sparse = CheckpointSamples.Trained(rng, TableKind.Sparse, UpdaterKind.Ftrl, 1, rounds: 3, keysPerRound: 25);
        using Table empty = Table.Create(TableSpec.Sparse("empty", 2, UpdaterKind.Adagrad));
        string sample = Path.Combine(_dir, "sample.psfck");
        // 16 floats a block: several ROWS records per table, so every kind of record is hit.
        CheckpointWriter.Write(sample, new CheckpointFileHeader(3, 1234, 9), [dense, sparse, empty], floatsPerBlock: 16);
        _good = File.ReadAllBytes(sample);
        _path = Path.Combine(_dir, "server-3.psfck");
        TestContext.Out.WriteLine($"sample checkpoint: {_good.Length} bytes");
    }

    [OneTimeTearDown]
    public void RemoveFolder() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void TheUndamagedSampleVerifiesAndRestores()
    {
        File.WriteAllBytes(_path, _good);
        Assert.That(CheckpointReader.Verify(_path).Tables, Has.Count.EqualTo(3));
        using RestoredCheckpoint restored = CheckpointReader.Restore(_path);
        Assert.That(restored.Tables, Has.Count.EqualTo(3));
    }

    [Test]
    public void EveryByteChangedAnywhereIsDetected()
    {
        var rng = new Random(1);
        for (int at = 0; at < _good.Length; at++)
        {
            byte[] bad = (byte[])_good.Clone();
            bad[at] ^= (byte)rng.Next(1, 256);
            ExpectCorrupt(bad, $"byte {at} changed");
        }
    }

    [Test]
    public void EveryTruncationIsDetected()
    {
        for (int length = 0; length < _good.Length; length++)
            ExpectCorrupt(_good[..length], $"cut to {length} bytes");
    }

    [Test]
    public void AppendedBytesAreDetected()
    {
        var rng = new Random(2);
        for (int i = 0; i < 1000; i++)
        {
            byte[] extra = new byte[rng.Next(1, 70)];
            rng.NextBytes(extra);
            if (i % 10 == 0)
                Array.Clear(extra);
            ExpectCorrupt([.. _good, .. extra], $"{extra.Length} bytes appended");
        }
    }

    [Test]
    public void RandomOverwritesInsertionsAndDeletionsAreDetected()
    {
        var rng = new Random(3);
        for (int i = 0; i < 3000; i++)
        {
            var bad = new List<byte>(_good);
            int edits = rng.Next(1, 6);
            for (int e = 0; e < edits; e++)
            {
                int at = rng.Next(bad.Count);
                switch (rng.Next(4))
                {
                    case 0:
                        // A 32-bit field (a length, a count, a CRC) set to an extreme.
                        uint v = rng.Next(3) switch { 0 => 0xFFFFFFFF, 1 => 0x7FFFFFFF, _ => (uint)rng.Next() };
                        for (int k = 0; k < 4 && at + k < bad.Count; k++)
                            bad[at + k] = (byte)(v >> (8 * k));
                        break;
                    case 1:
                        bad.Insert(at, (byte)rng.Next(256));
                        break;
                    case 2:
                        bad.RemoveAt(at);
                        break;
                    default:
                        bad[at] ^= (byte)(1 << rng.Next(8));
                        break;
                }
            }
            byte[] mutated = [.. bad];
            if (mutated.AsSpan().SequenceEqual(_good))
                continue;
            ExpectCorrupt(mutated, $"case {i}");
        }
    }

    [Test]
    public void AFileThatIsNotACheckpointIsNamedAsSuch()
    {
        File.WriteAllText(_path, "hello, this is a text file and not a checkpoint");
        var e = Assert.Throws<CheckpointCorruptException>(() => CheckpointReader.Verify(_path));
        Assert.That(e!.Message, Does.Contain(_path).And.Contain("not a checkpoint file"));
        Assert.That(e.Offset, Is.EqualTo(0));
    }

    [Test]
    public void ErrorsNameTheFileTheOffsetAndTheProblem()
    {
        byte[] bad = (byte[])_good.Clone();
        bad[^10] ^= 0x40;
        File.WriteAllBytes(_path, bad);
        var e = Assert.Throws<CheckpointCorruptException>(() => CheckpointReader.Verify(_path));
        Assert.That(e!.FilePath, Is.EqualTo(_path));
        Assert.That(e.Offset, Is.InRange(0, _good.Length));
        Assert.That(e.Message, Does.StartWith($"checkpoint {_path} is corrupt at byte {e.Offset}: ").And.Contain("checksum"));

        File.WriteAllBytes(_path, _good[..(_good.Length / 2)]);
        e = Assert.Throws<CheckpointCorruptException>(() => CheckpointReader.Verify(_path));
        Assert.That(e!.Message, Does.Contain("truncated"));

        File.WriteAllBytes(_path, [.. _good, 0]);
        e = Assert.Throws<CheckpointCorruptException>(() => CheckpointReader.Verify(_path));
        Assert.That(e!.Message, Does.Contain("1 unexpected bytes after the end record"));
    }

    private void ExpectCorrupt(byte[] bytes, string what)
    {
        File.WriteAllBytes(_path, bytes);
        foreach (bool restore in new[] { false, true })
        {
            try
            {
                if (restore)
                    CheckpointReader.Restore(_path).Dispose();
                else
                    CheckpointReader.Verify(_path);
                Assert.Fail($"{what}: {(restore ? "restore" : "verify")} accepted a damaged file");
            }
            catch (CheckpointCorruptException e)
            {
                if (e.FilePath != _path)
                    Assert.Fail($"{what}: the error does not name the file: {e.Message}");
            }
            catch (Exception e) when (e is not AssertionException)
            {
                Assert.Fail($"{what}: {(restore ? "restore" : "verify")} raised {e.GetType().Name}: {e.Message}");
            }
        }
    }
}
