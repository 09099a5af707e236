using System.Globalization;
using System.Text;
using ParameterServer.Fast.Codec.Checksums;

namespace ParameterServer.Fast.Cluster.Checkpoints;

/// <summary>
/// The checkpoints of one job under a root folder (<c>--checkpoint-dir</c>), one folder per clock:
/// <code>
///   ROOT/
///     clock-000000000120/      zero-padded, so names sort as clocks do
///       server-1.psfck         one file per server (CheckpointWriter), each renamed into place
///       server-2.psfck
///       MANIFEST               written last (Commit): a folder without one never finished
/// </code>
/// The last good checkpoint is the newest folder whose manifest parses and whose every file has
/// the length and CRC-32C the manifest says: a half-written, truncated or damaged newer one is
/// skipped, with the reason.
/// </summary>
public sealed class CheckpointStore
{
    public const string ManifestName = "MANIFEST";
    private const string FolderPrefix = "clock-";

    public CheckpointStore(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.GetFullPath(root);
    }

    public string Root { get; }

    public static string FolderName(long clock) => FolderPrefix + clock.ToString("D12", CultureInfo.InvariantCulture);

    public static string ServerFileName(int serverId) => $"server-{serverId}{CheckpointFormat.Extension}";

    public string FolderOf(long clock)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(clock);
        return Path.Combine(Root, FolderName(clock));
    }

    /// <summary>Where server <paramref name="serverId"/> writes its file of the checkpoint at <paramref name="clock"/> (the folder is created).</summary>
    public string ServerFilePath(long clock, int serverId)
    {
        string folder = FolderOf(clock);
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, ServerFileName(serverId));
    }

    /// <summary>
    /// Makes the checkpoint at the manifest's clock complete: checks that every file it names is in
    /// the folder with its length and that file's header says this server and clock, then writes
    /// the manifest durably. Until then the checkpoint does not count.
    /// </summary>
    public void Commit(CheckpointManifest manifest)
    {
        string folder = FolderOf(manifest.Clock);
        foreach (CheckpointFileInfo f in manifest.Files)
        {
            if (!CheckpointManifest.IsPlainFileName(f.FileName))
                throw new ArgumentException($"checkpoint file name '{f.FileName}' must be a plain name inside {folder}");
            string path = Path.Combine(folder, f.FileName);
            var info = new FileInfo(path);
            if (!info.Exists)
                throw new InvalidOperationException($"cannot commit the checkpoint at clock {manifest.Clock}: {path} is missing");
            if (info.Length != f.Length)
                throw new InvalidOperationException($"cannot commit the checkpoint at clock {manifest.Clock}: {path} has {info.Length} bytes, its server reported {f.Length}");
            CheckpointFileHeader header = CheckpointReader.ReadHeader(path);
            if (header.Clock != manifest.Clock || header.ServerId != f.ServerId)
                throw new InvalidOperationException($"cannot commit the checkpoint at clock {manifest.Clock}: {path} is server {header.ServerId}'s file at clock {header.Clock}");
        }
        DurableFile.WriteAllBytes(Path.Combine(folder, ManifestName), Encoding.UTF8.GetBytes(manifest.ToText()));
    }

    /// <summary>The clocks of every checkpoint folder, newest first, finished or not.</summary>
    public IReadOnlyList<long> Clocks()
    {
        if (!Directory.Exists(Root))
            return [];
        var clocks = new List<long>();
        foreach (string dir in Directory.EnumerateDirectories(Root, FolderPrefix + "*"))
        {
            string name = Path.GetFileName(dir);
            if (long.TryParse(name.AsSpan(FolderPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long clock) && name == FolderName(clock))
                clocks.Add(clock);
        }
        clocks.Sort((a, b) => b.CompareTo(a));
        return clocks;
    }

    /// <summary>The manifest of the checkpoint at <paramref name="clock"/>, parsed (not its files).</summary>
    public CheckpointManifest ReadManifest(long clock)
    {
        string path = Path.Combine(FolderOf(clock), ManifestName);
        if (!File.Exists(path))
            throw new CheckpointCorruptException(path, -1, "no manifest: the checkpoint never finished");
        CheckpointManifest manifest = CheckpointManifest.Parse(File.ReadAllBytes(path), path);
        if (manifest.Clock != clock)
            throw new CheckpointCorruptException(path, -1, $"the manifest is of clock {manifest.Clock}, in the folder of clock {clock}");
        return manifest;
    }

    /// <summary>
    /// Checks the checkpoint at <paramref name="clock"/>: its manifest, then each file's length and
    /// the CRC-32C of all its bytes. Throws <see cref="CheckpointCorruptException"/> naming the
    /// first file that is missing or differs.
    /// </summary>
    public CheckpointManifest Validate(long clock)
    {
        CheckpointManifest manifest = ReadManifest(clock);
        foreach (CheckpointFileInfo f in manifest.Files)
        {
            string path = Path.Combine(FolderOf(clock), f.FileName);
            var info = new FileInfo(path);
            if (!info.Exists)
                throw new CheckpointCorruptException(path, -1, $"the file of server {f.ServerId} is missing");
            if (info.Length != f.Length)
                throw new CheckpointCorruptException(path, -1, $"{info.Length} bytes, where the manifest says {f.Length} (truncated or extended)");
            uint crc = FileCrc(path);
            if (crc != f.Crc32C)
                throw new CheckpointCorruptException(path, -1, $"checksum 0x{crc:X8} differs from the manifest's 0x{f.Crc32C:X8}");
        }
        return manifest;
    }

    /// <summary>The newest checkpoint that validates, with why each newer one was passed over.</summary>
    public CheckpointSearch FindLastGood()
    {
        var skipped = new List<string>();
        foreach (long clock in Clocks())
        {
            try
            {
                return new CheckpointSearch(Validate(clock), FolderOf(clock), skipped);
            }
            catch (IOException e)
            {
                // CheckpointCorruptException is an IOException too: damaged and unreadable alike are skipped.
                skipped.Add($"clock {clock}: {e.Message}");
            }
        }
        return new CheckpointSearch(null, null, skipped);
    }

    /// <summary>
    /// Deletes every checkpoint older than the <paramref name="keep"/> newest good ones; folders
    /// newer than the newest good one are left alone (they may be being written). Returns the number deleted.
    /// </summary>
    public int Prune(int keep)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        int good = 0, deleted = 0;
        foreach (long clock in Clocks())
        {
            if (good >= keep)
            {
                Directory.Delete(FolderOf(clock), recursive: true);
                deleted++;
                continue;
            }
            try
            {
                Validate(clock);
                good++;
            }
            catch (IOException)
            {
                // Unfinished or damaged: removed once enough good ones are newer.
            }
        }
        return deleted;
    }

    private static uint FileCrc(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        byte[] buffer = new byte[1 << 20];
        uint crc = 0;
        int n;
        while ((n = file.Read(buffer)) > 0)
            crc = Crc32C.Append(crc, buffer.AsSpan(0, n));
        return crc;
    }
}

/// <summary>The result of <see cref="CheckpointStore.FindLastGood"/>: the checkpoint found (null if none) and every newer one passed over, with the reason.</summary>
public sealed record CheckpointSearch(CheckpointManifest? Found, string? Folder, IReadOnlyList<string> Skipped);
