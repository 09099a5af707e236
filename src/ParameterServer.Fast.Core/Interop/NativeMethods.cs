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

    // ---- shared-memory connection (psf_shm_*): conn is a psf_shm_conn* ----

    [LibraryImport(LibraryName, EntryPoint = "psf_shm_create", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ShmCreate(string name, ulong ringBytes, out nint conn);

    [LibraryImport(LibraryName, EntryPoint = "psf_shm_attach", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ShmAttach(string name, out nint conn);

    [LibraryImport(LibraryName, EntryPoint = "psf_shm_close")]
    public static partial int ShmClose(nint conn);

    [LibraryImport(LibraryName, EntryPoint = "psf_shm_set_spin")]
    public static partial int ShmSetSpin(nint conn, long spinNs);

    [LibraryImport(LibraryName, EntryPoint = "psf_shm_max_claim")]
    public static partial int ShmMaxClaim(nint conn, uint* bytes);

    [LibraryImport(LibraryName, EntryPoint = "psf_shm_try_claim")]
    public static partial int ShmTryClaim(nint conn, uint length, void** ptr);

    [LibraryImport(LibraryName, EntryPoint = "psf_shm_commit")]
    public static partial int ShmCommit(nint conn, int type);

    [LibraryImport(LibraryName, EntryPoint = "psf_shm_wait_claim")]
    public static partial int ShmWaitClaim(nint conn, uint length, long timeoutNs);

    [LibraryImport(LibraryName, EntryPoint = "psf_shm_send")]
    public static partial int ShmSend(nint conn, int type, void* data, ulong length, long timeoutNs);

    [LibraryImport(LibraryName, EntryPoint = "psf_shm_try_read")]
    public static partial int ShmTryRead(nint conn, void** ptr, uint* length, int* type);

    [LibraryImport(LibraryName, EntryPoint = "psf_shm_release")]
    public static partial int ShmRelease(nint conn);

    [LibraryImport(LibraryName, EntryPoint = "psf_shm_wait")]
    public static partial int ShmWait(nint conn, long timeoutNs);

    [LibraryImport(LibraryName, EntryPoint = "psf_shm_recv")]
    public static partial int ShmRecv(nint conn, void* buf, ulong cap, ulong* length, int* type, long timeoutNs);

    // ---- same-run baselines of `psf bench transport` ----

    [LibraryImport(LibraryName, EntryPoint = "psf_bench_memcpy")]
    public static partial int BenchMemcpy(ulong bytes, uint iterations, double* gbps);

    [LibraryImport(LibraryName, EntryPoint = "psf_bench_tcp_stream")]
    public static partial int BenchTcpStream(ulong messageBytes, ulong totalBytes, double* gbps);

    [LibraryImport(LibraryName, EntryPoint = "psf_bench_tcp_pingpong")]
    public static partial int BenchTcpPingPong(uint iterations, double* p50Us, double* p99Us);

    [LibraryImport(LibraryName, EntryPoint = "psf_bench_shm_stream")]
    public static partial int BenchShmStream(ulong messageBytes, ulong totalBytes, double* gbps);

    [LibraryImport(LibraryName, EntryPoint = "psf_bench_shm_pingpong")]
    public static partial int BenchShmPingPong(uint iterations, int spinOnly, double* p50Us, double* p99Us);
}
