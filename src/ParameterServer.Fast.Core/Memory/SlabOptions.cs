namespace ParameterServer.Fast.Core.Memory;

/// <summary>How a slab asks the OS for its pages. The default (all false) is what training wants.</summary>
/// <param name="NoHugePages">Do not advise transparent huge pages (Linux) or use large pages (Windows).
/// Huge pages are the default: random access to a large table misses the TLB on almost every 4 KiB page.</param>
/// <param name="LockInMemory">mlock/VirtualLock committed pages; fails loudly if the limit is too low.</param>
public readonly record struct SlabOptions(bool NoHugePages = false, bool LockInMemory = false)
{
    public bool HugePages => !NoHugePages;
}
