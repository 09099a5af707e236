namespace ParameterServer.Fast.Core.Memory;

/// <summary>How a slab asks the OS for its pages.</summary>
/// <param name="HugePages">Advise transparent huge pages (Linux) or use large pages (Windows).</param>
/// <param name="LockInMemory">mlock/VirtualLock committed pages; fails loudly if the limit is too low.</param>
public readonly record struct SlabOptions(bool HugePages = true, bool LockInMemory = false)
{
    public static SlabOptions Default => new(HugePages: true, LockInMemory: false);
}
