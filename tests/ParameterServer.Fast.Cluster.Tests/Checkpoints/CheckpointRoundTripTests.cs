using ParameterServer.Fast.Cluster.Checkpoints;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Cluster.Tests.Checkpoints;

/// <summary>
/// A checkpoint file gives back exactly the tables written: every key, weight and updater state
/// value, bit for bit, for dense and sparse tables of every updater, whatever the block size.
/// </summary>
public sealed class CheckpointRoundTripTests
{
    private string _dir = "";

    [SetUp]
    public void CreateFolder() => _dir = CheckpointSamples.TempFolder();

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void RandomServersRestoreExactly()
    {
        var rng = new Random(20141006);
        UpdaterKind[] updaters = Enum.GetValues<UpdaterKind>();
        for (int trial = 0; trial < 40; trial++)
        {
            var tables = new List<Table>();
            try
            {
                int count = rng.Next(0, 5);
                for (int t = 0; t < count; t++)
                {
                    TableKind kind = rng.Next(2) == 0 ? TableKind.Dense : TableKind.Sparse;
                    UpdaterKind updater = updaters[rng.Next(updaters.Length)];
                    // Some updaters fix the row width (block proximal keeps [g, u, round]).
                    int width = Updater.RowWidthOf(updater) ?? (rng.Next(3) == 0 ? rng.Next(2, 20) : 1);
                    tables.Add(CheckpointSamples.Trained(rng, kind, updater, width, rounds: rng.Next(0, 12)));
                }
                var header = new CheckpointFileHeader(rng.Next(1, 100), rng.NextInt64(0, 1L << 40), (uint)rng.Next());
                string path = Path.Combine(_dir, $"trial-{trial}.psfck");
                // Tiny blocks split tables into many ROWS records; large ones put a table in one.
                int floats = rng.Next(3) switch { 0 => 1, 1 => rng.Next(2, 300), _ => 1 << 16 };
                CheckpointFileInfo info = CheckpointWriter.Write(path, header, tables, floats);

                Assert.That(info.FileName, Is.EqualTo(Path.GetFileName(path)));
                Assert.That(info.Length, Is.EqualTo(new FileInfo(path).Length));
                Assert.That(info.Crc32C, Is.EqualTo(Codec.Checksums.Crc32C.Compute(File.ReadAllBytes(path))));
                Assert.That(File.Exists(path + ".tmp"), Is.False, "the temporary file was renamed");

                CheckpointContents contents = CheckpointReader.Verify(path);
                Assert.That(contents.Header.ServerId, Is.EqualTo(header.ServerId));
                Assert.That(contents.Header.Clock, Is.EqualTo(header.Clock));
                Assert.That(contents.Header.RangeMapVersion, Is.EqualTo(header.RangeMapVersion));
                Assert.That(contents.Tables.Select(t => (t.Spec, t.OwnedRange, t.Rows)), Is.EqualTo(tables.Select(t => (t.Spec, t.OwnedRange, t.RowCount))));

                using RestoredCheckpoint restored = CheckpointReader.Restore(path);
                Assert.That(restored.Header.Clock, Is.EqualTo(header.Clock));
                Assert.That(restored.Tables, Has.Count.EqualTo(tables.Count));
                for (int t = 0; t < tables.Count; t++)
                    CheckpointSamples.AssertSame(tables[t], restored.Tables[t]);
            }
            finally
            {
                foreach (Table t in tables)
                    t.Dispose();
            }
        }
    }

    [Test]
    public void RestoringIntoTablesAlreadyHeldFillsThemAndTrainingGoesOnIdentically()
    {
        var rng = new Random(7);
        using Table original = CheckpointSamples.Trained(rng, TableKind.Sparse, UpdaterKind.Adam, 4);
        string path = Path.Combine(_dir, "server-1.psfck");
        CheckpointWriter.Write(path, new CheckpointFileHeader(1, 10, 3), [original]);

        using Table target = Table.Create(original.Spec, original.OwnedRange);
        CheckpointContents contents = CheckpointReader.Restore(path, section => section.Spec.Name == original.Name ? target : null);
        Assert.That(contents.Tables, Has.Count.EqualTo(1));
        CheckpointSamples.AssertSame(original, target);

        ulong[] keys = [1000, 5000, 77777];
        float[] g = [.. Enumerable.Range(0, 12).Select(i => (float)i - 6)];
        original.Push(keys, g);
        target.Push(keys, g);
        CheckpointSamples.AssertSame(original, target);
    }

    [Test]
    public void ATargetOfAnotherShapeIsRefusedByName()
    {
        using Table original = Table.Create(TableSpec.Dense("layer", new KeyRange(0, 10), 2, UpdaterKind.Adagrad));
        string path = Path.Combine(_dir, "f.psfck");
        CheckpointWriter.Write(path, new CheckpointFileHeader(1, 0, 1), [original]);
        using Table wrong = Table.Create(TableSpec.Dense("layer", new KeyRange(0, 10), 2, UpdaterKind.Adam));
        var e = Assert.Throws<ArgumentException>(() => CheckpointReader.Restore(path, _ => wrong));
        Assert.That(e!.Message, Does.Contain("'layer'").And.Contain("does not fit"));
    }

    [Test]
    public void AFailedWriteLeavesThePreviousFileInPlace()
    {
        using Table table = Table.Create(TableSpec.Sparse("s"));
        table.Push([1, 2], [1, 2]);
        string path = Path.Combine(_dir, "server-1.psfck");
        CheckpointFileInfo first = CheckpointWriter.Write(path, new CheckpointFileHeader(1, 5, 1), [table]);
        // A write that fails half-way (disk full, a table that changed) must leave the old file whole.
        Assert.Throws<IOException>(() => DurableFile.Write<int>(path, file =>
        {
            file.Write(new byte[100_000]);
            throw new IOException("no space left on device");
        }));
        Assert.That(Codec.Checksums.Crc32C.Compute(File.ReadAllBytes(path)), Is.EqualTo(first.Crc32C));
        Assert.That(File.Exists(path + ".tmp"), Is.False, "the temporary file is removed");
        Assert.That(CheckpointReader.ReadHeader(path).Clock, Is.EqualTo(5));
    }
}
