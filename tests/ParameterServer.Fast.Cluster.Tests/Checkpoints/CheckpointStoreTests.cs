using System.Text;
using ParameterServer.Fast.Cluster.Checkpoints;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Cluster.Tests.Checkpoints;

/// <summary>
/// Checkpoints of a job: each server writes its file, the manifest commits them at one clock, and
/// the last good checkpoint is the newest whose manifest and every file check out.
/// </summary>
public sealed class CheckpointStoreTests
{
    private string _dir = "";
    private CheckpointStore _store = null!;
    private readonly List<Table> _tables = [];

    [SetUp]
    public void CreateStore()
    {
        _dir = CheckpointSamples.TempFolder();
        _store = new CheckpointStore(_dir);
        var rng = new Random(11);
        // Two servers, each holding half of a dense table and a sparse table.
        var spec = TableSpec.Dense("w", new KeyRange(0, 64), 2, UpdaterKind.Adagrad);
        KeyRange[] halves = spec.Range.Split(2);
        for (int s = 0; s < 2; s++)
        {
            Table t = Table.Create(spec, halves[s]);
            ((DenseTable)t).PushRange(halves[s], [.. Enumerable.Range(0, 64).Select(i => (float)rng.NextDouble())]);
            _tables.Add(t);
        }
    }

    [TearDown]
    public void RemoveStore()
    {
        foreach (Table t in _tables)
            t.Dispose();
        _tables.Clear();
        Directory.Delete(_dir, recursive: true);
    }

    private CheckpointManifest Take(long clock, uint mapVersion = 1)
    {
        var files = new List<CheckpointFileInfo>();
        for (int s = 0; s < 2; s++)
        {
            int serverId = s + 1;
            files.Add(CheckpointWriter.Write(_store.ServerFilePath(clock, serverId), new CheckpointFileHeader(serverId, clock, mapVersion), [_tables[s]]));
        }
        var manifest = new CheckpointManifest(clock, mapVersion, files);
        _store.Commit(manifest);
        return manifest;
    }

    [Test]
    public void ACommittedCheckpointIsTheLastGoodOneAndRestores()
    {
        CheckpointManifest taken = Take(100, mapVersion: 4);
        CheckpointSearch search = _store.FindLastGood();
        Assert.That(search.Found, Is.Not.Null);
        Assert.That(search.Found!.Clock, Is.EqualTo(100));
        Assert.That(search.Found.RangeMapVersion, Is.EqualTo(4));
        Assert.That(search.Found.Files, Is.EqualTo(taken.Files));
        Assert.That(search.Skipped, Is.Empty);
        Assert.That(search.Folder, Is.EqualTo(Path.Combine(_dir, "clock-000000000100")));
        for (int s = 0; s < 2; s++)
        {
            using RestoredCheckpoint r = CheckpointReader.Restore(Path.Combine(search.Folder!, search.Found.Files[s].FileName));
            CheckpointSamples.AssertSame(_tables[s], r.Tables[0]);
        }
    }

    [Test]
    public void TheLastGoodSearchSkipsACorruptNewestCheckpointAndSaysWhy()
    {
        Take(10);
        Take(20);
        Take(30);
        string victim = Path.Combine(_store.FolderOf(30), CheckpointStore.ServerFileName(2));
        byte[] bytes = File.ReadAllBytes(victim);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(victim, bytes);

        CheckpointSearch search = _store.FindLastGood();
        Assert.That(search.Found!.Clock, Is.EqualTo(20));
        Assert.That(search.Skipped, Has.Count.EqualTo(1));
        Assert.That(search.Skipped[0], Does.Contain("clock 30").And.Contain(victim).And.Contain("checksum"));
    }

    [Test]
    public void UnfinishedTruncatedAndMissingCheckpointsAreSkipped()
    {
        Take(10);
        Take(20);
        Take(30);
        Take(40);
        // 50: a server wrote its file, the job died before the manifest.
        CheckpointWriter.Write(_store.ServerFilePath(50, 1), new CheckpointFileHeader(1, 50, 1), [_tables[0]]);
        // 40: a truncated server file; 30: a file gone; 20: a damaged manifest.
        string truncated = Path.Combine(_store.FolderOf(40), CheckpointStore.ServerFileName(1));
        File.WriteAllBytes(truncated, File.ReadAllBytes(truncated)[..^3]);
        File.Delete(Path.Combine(_store.FolderOf(30), CheckpointStore.ServerFileName(2)));
        string manifest = Path.Combine(_store.FolderOf(20), CheckpointStore.ManifestName);
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("clock 20", "clock 21", StringComparison.Ordinal));

        CheckpointSearch search = _store.FindLastGood();
        Assert.That(search.Found!.Clock, Is.EqualTo(10));
        Assert.That(search.Skipped, Has.Count.EqualTo(4));
        Assert.That(search.Skipped[0], Does.Contain("clock 50").And.Contain("no manifest"));
        Assert.That(search.Skipped[1], Does.Contain("clock 40").And.Contain(truncated).And.Contain("truncated"));
        Assert.That(search.Skipped[2], Does.Contain("clock 30").And.Contain("missing"));
        Assert.That(search.Skipped[3], Does.Contain("clock 20").And.Contain("MANIFEST").And.Contain("checksum mismatch"));
    }

    [Test]
    public void AnEmptyOrAbsentRootHasNoCheckpoint()
    {
        Assert.That(_store.FindLastGood().Found, Is.Null);
        Assert.That(new CheckpointStore(Path.Combine(_dir, "nothing-here")).FindLastGood().Found, Is.Null);
    }

    [Test]
    public void CommitRefusesFilesThatAreMissingOrDifferFromWhatTheServersReported()
    {
        CheckpointFileInfo written = CheckpointWriter.Write(_store.ServerFilePath(5, 1), new CheckpointFileHeader(1, 5, 1), [_tables[0]]);
        var missing = new CheckpointManifest(5, 1, [written, written with { ServerId = 2, FileName = CheckpointStore.ServerFileName(2) }]);
        Assert.That(() => _store.Commit(missing), Throws.InvalidOperationException.With.Message.Contain("server-2.psfck is missing"));
        var wrongLength = new CheckpointManifest(5, 1, [written with { Length = written.Length + 1 }]);
        Assert.That(() => _store.Commit(wrongLength), Throws.InvalidOperationException.With.Message.Contain("its server reported"));
        var wrongClock = new CheckpointManifest(6, 1, [written]);
        File.Copy(_store.ServerFilePath(5, 1), _store.ServerFilePath(6, 1));
        Assert.That(() => _store.Commit(wrongClock), Throws.InvalidOperationException.With.Message.Contain("at clock 5"));
        var escape = new CheckpointManifest(5, 1, [written with { FileName = "../x" }]);
        Assert.That(() => _store.Commit(escape), Throws.ArgumentException);
        Assert.That(_store.FindLastGood().Found, Is.Null, "nothing was committed");
    }

    [Test]
    public void PruneKeepsTheNewestGoodCheckpointsAndWhatIsNewerThanThem()
    {
        foreach (long clock in new long[] { 10, 20, 30, 40 })
            Take(clock);
        CheckpointWriter.Write(_store.ServerFilePath(50, 1), new CheckpointFileHeader(1, 50, 1), [_tables[0]]);
        Assert.That(_store.Prune(keep: 2), Is.EqualTo(2));
        Assert.That(_store.Clocks(), Is.EqualTo(new long[] { 50, 40, 30 }));
        Assert.That(_store.FindLastGood().Found!.Clock, Is.EqualTo(40));
    }

    [Test]
    public void AManifestRoundTripsAndAnyChangeToItIsDetected()
    {
        var manifest = new CheckpointManifest(123, 7, [new CheckpointFileInfo(1, "server-1.psfck", 4096, 0xDEADBEEF), new CheckpointFileInfo(2, "server-2.psfck", 1, 0)])
        {
            Created = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero),
        };
        byte[] text = Encoding.UTF8.GetBytes(manifest.ToText());
        CheckpointManifest parsed = CheckpointManifest.Parse(text, "m");
        Assert.That(parsed.Clock, Is.EqualTo(123));
        Assert.That(parsed.RangeMapVersion, Is.EqualTo(7));
        Assert.That(parsed.Created, Is.EqualTo(manifest.Created));
        Assert.That(parsed.Files, Is.EqualTo(manifest.Files));

        var rng = new Random(8);
        for (int i = 0; i < 20_000; i++)
        {
            byte[] bad = (byte[])text.Clone();
            switch (i % 3)
            {
                case 0:
                    bad[rng.Next(bad.Length)] ^= (byte)rng.Next(1, 256);
                    break;
                case 1:
                    bad = bad[..rng.Next(bad.Length)];
                    break;
                default:
                    bad = [.. bad, .. Encoding.ASCII.GetBytes("file 3 x 1 00000000\n")[..rng.Next(1, 21)]];
                    break;
            }
            try
            {
                CheckpointManifest.Parse(bad, "m");
                Assert.Fail($"case {i}: a damaged manifest parsed: {Encoding.UTF8.GetString(bad)}");
            }
            catch (CheckpointCorruptException e)
            {
                Assert.That(e.FilePath, Is.EqualTo("m"));
            }
        }
    }
}
