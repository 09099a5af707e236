using System.Runtime.InteropServices;

namespace ParameterServer.Fast.Core.Memory;

/// <summary>
/// The operating system's virtual-memory calls that slabs need: reserve address space that costs
/// nothing until touched, advise transparent huge pages, lock pages in RAM. Linux is first-class;
/// Windows uses VirtualAlloc (with large pages when the account may use them); other Unixes mmap.
/// </summary>
internal static unsafe partial class OsMemory
{
    // Linux x86-64 / arm64 values of <sys/mman.h>.
    private const int ProtRead = 0x1, ProtWrite = 0x2;
    private const int MapPrivate = 0x02;
    private const int LinuxMapAnonymous = 0x20, LinuxMapNoReserve = 0x4000;
    private const int DarwinMapAnonymous = 0x1000;
    private const int MadvHugePage = 14;

    // Windows values of <memoryapi.h>.
    private const uint MemCommit = 0x1000, MemReserve = 0x2000, MemRelease = 0x8000, MemLargePages = 0x20000000;
    private const uint PageReadWrite = 0x04;

    public static bool UsesVirtualReservation => OperatingSystem.IsLinux() || OperatingSystem.IsWindows() || OperatingSystem.IsMacOS();

    /// <summary>Reserves <paramref name="bytes"/> of zeroed address space; null when the OS refuses.</summary>
    public static byte* Reserve(nuint bytes, bool largePages)
    {
        if (OperatingSystem.IsWindows())
        {
            if (largePages)
            {
                void* large = VirtualAlloc(null, bytes, MemReserve | MemCommit | MemLargePages, PageReadWrite);
                if (large is not null)
                    return (byte*)large;
            }
            return (byte*)VirtualAlloc(null, bytes, MemReserve, PageReadWrite);
        }
        int flags = MapPrivate | (OperatingSystem.IsLinux() ? LinuxMapAnonymous | LinuxMapNoReserve : DarwinMapAnonymous);
        void* p = mmap(null, bytes, ProtRead | ProtWrite, flags, -1, 0);
        return p == (void*)-1 ? null : (byte*)p;
    }

    /// <summary>Makes [address, address+bytes) usable; a no-op where reservation already maps it.</summary>
    public static bool Commit(byte* address, nuint bytes)
    {
        if (OperatingSystem.IsWindows())
            return VirtualAlloc(address, bytes, MemCommit, PageReadWrite) is not null;
        return true;
    }

    public static void Release(byte* address, nuint bytes)
    {
        if (OperatingSystem.IsWindows())
            VirtualFree(address, 0, MemRelease);
        else
            munmap(address, bytes);
    }

    /// <summary>Asks for transparent huge pages (2 MiB on x86-64: one TLB entry instead of 512).</summary>
    public static bool AdviseHugePages(byte* address, nuint bytes) =>
        OperatingSystem.IsLinux() && madvise(address, bytes, MadvHugePage) == 0;

    /// <summary>Pins pages in RAM so a training job never pages its parameters out.</summary>
    public static bool Lock(byte* address, nuint bytes)
    {
        if (bytes == 0)
            return true;
        if (OperatingSystem.IsWindows())
            return VirtualLock(address, bytes) != 0;
        return mlock(address, bytes) == 0;
    }

    public static int LastErrno() => Marshal.GetLastPInvokeError();

    [LibraryImport("libc", SetLastError = true)]
    private static partial void* mmap(void* address, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int munmap(void* address, nuint length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int madvise(void* address, nuint length, int advice);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int mlock(void* address, nuint length);

    [LibraryImport("kernel32", SetLastError = true)]
    private static partial void* VirtualAlloc(void* address, nuint size, uint allocationType, uint protect);

    [LibraryImport("kernel32", SetLastError = true)]
    private static partial int VirtualFree(void* address, nuint size, uint freeType);

    [LibraryImport("kernel32", SetLastError = true)]
    private static partial int VirtualLock(void* address, nuint size);
}
