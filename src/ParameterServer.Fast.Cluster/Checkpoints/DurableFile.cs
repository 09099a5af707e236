using ParameterServer.Fast.Core.Interop;

namespace ParameterServer.Fast.Cluster.Checkpoints;

/// <summary>
/// Files that appear whole or not at all: written under a temporary name beside the final one,
/// fsynced, renamed over it, and the directory fsynced so the rename itself survives a crash. A
/// reader therefore sees the old file, the new file, or none, never a half-written one.
/// </summary>
internal static class DurableFile
{
    /// <summary>The temporary name of <paramref name="path"/> while it is written ("NAME.tmp" in the same folder: a rename never crosses file systems).</summary>
    public static string TemporaryName(string path) => path + ".tmp";

    /// <summary>Writes <paramref name="path"/> by calling <paramref name="write"/> on the temporary file; returns what it returned.</summary>
    public static T Write<T>(string path, Func<FileStream, T> write)
    {
        string temporary = TemporaryName(path);
        T result;
        try
        {
            // 1 MiB: a block of rows goes out in a few large writes.
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                result = write(file);
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
        FileSync.FlushDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return result;
    }

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        Write(path, file =>
        {
            file.Write(copy);
            return 0;
        });
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // The original error matters more; a stale .tmp is overwritten by the next attempt.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
