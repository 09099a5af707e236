using System.Runtime.InteropServices;

namespace ParameterServer.Fast.Core.Interop;

/// <summary>
/// The imports of libpsf_native, one per function of native/include/psf.h. Callers go through
/// <see cref="PsfNative"/>, which checks that the library is there and maps statuses.
/// </summary>
internal static unsafe partial class NativeMethods
{
    public const string LibraryName = "psf_native";

    [LibraryImport(LibraryName, EntryPoint = "psf_version")]
    public static partial uint Version();

    [LibraryImport(LibraryName, EntryPoint = "psf_last_error")]
    public static partial byte* LastError();

    [LibraryImport(LibraryName, EntryPoint = "psf_last_error_clear")]
    public static partial void LastErrorClear();

    [LibraryImport(LibraryName, EntryPoint = "psf_ref_sum_into")]
    public static partial int RefSumInto(float* dst, float* src, ulong count);

    [LibraryImport(LibraryName, EntryPoint = "psf_ref_copy")]
    public static partial int RefCopy(void* dst, void* src, ulong count);

    [LibraryImport(LibraryName, EntryPoint = "psf_rdma_device_count")]
    public static partial int RdmaDeviceCount();
}
