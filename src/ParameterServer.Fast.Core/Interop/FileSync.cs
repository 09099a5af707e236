using System.Runtime.InteropServices;

namespace ParameterServer.Fast.Core.Interop;

/// <summary>
/// Makes a rename durable. fsync of a file makes its bytes durable, but its name lives in the
/// directory: after write → fsync → rename, a crash can still lose the rename until the directory
/// itself is fsynced. .NET opens no handle on a directory on Unix, hence these three libc calls.
/// Windows (NTFS journals metadata) and other systems need nothing here.
/// </summary>
public static partial class FileSync
{
    // O_RDONLY | O_DIRECTORY | O_CLOEXEC with the Linux values of <fcntl.h> (x86-64 and arm64 agree).
    private const int OpenDirectoryFlags = 0x0 | 0x10000 | 0x80000;

    /// <summary>Flushes the entries of <paramref name="directory"/> (new, renamed, removed files) to disk.</summary>
    public static void FlushDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
            return;
        int fd = Open(directory, OpenDirectoryFlags);
        if (fd < 0)
            throw new IOException($"cannot open directory {directory} to flush it: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            if (Fsync(fd) != 0)
                throw new IOException($"fsync of directory {directory} failed: errno {Marshal.GetLastPInvokeError()}");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
