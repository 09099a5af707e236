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

    // ---- RDMA connection (psf_rdma_*): conn is a psf_rdma_conn* ----

    [LibraryImport(LibraryName, EntryPoint = "psf_rdma_conn_create")]
    public static partial int RdmaConnCreate(uint recvSlots, uint slotBytes, ulong regionBytes, ulong mrCacheBytes, out nint conn);

    [LibraryImport(LibraryName, EntryPoint = "psf_rdma_local_info")]
    public static partial int RdmaLocalInfo(nint conn, void* buf, uint cap, uint* length);

    [LibraryImport(LibraryName, EntryPoint = "psf_rdma_connect")]
    public static partial int RdmaConnect(nint conn, void* remoteInfo, uint length);

    [LibraryImport(LibraryName, EntryPoint = "psf_rdma_send")]
    public static partial int RdmaSend(nint conn, int type, void* data, uint length);

    [LibraryImport(LibraryName, EntryPoint = "psf_rdma_write")]
    public static partial int RdmaWrite(nint conn, void* data, ulong length, ulong* token);

    [LibraryImport(LibraryName, EntryPoint = "psf_rdma_region_register")]
    public static partial int RdmaRegionRegister(nint conn, ulong id, void* addr, ulong length, uint* lkey);

    [LibraryImport(LibraryName, EntryPoint = "psf_rdma_region_deregister")]
    public static partial int RdmaRegionDeregister(nint conn, ulong id);

    [LibraryImport(LibraryName, EntryPoint = "psf_rdma_write_region")]
    public static partial int RdmaWriteRegion(nint conn, ulong id, void* data, ulong length, ulong* token);

    [LibraryImport(LibraryName, EntryPoint = "psf_rdma_poll")]
    public static partial int RdmaPoll(nint conn, RdmaEvent* rdmaEvent);

    [LibraryImport(LibraryName, EntryPoint = "psf_rdma_release")]
    public static partial int RdmaRelease(nint conn, ulong token);

    [LibraryImport(LibraryName, EntryPoint = "psf_rdma_conn_stats")]
    public static partial int RdmaConnStats(nint conn, RdmaStats* stats);

    [LibraryImport(LibraryName, EntryPoint = "psf_rdma_close")]
    public static partial int RdmaClose(nint conn);

    [LibraryImport(LibraryName, EntryPoint = "psf_rdma_fake_create")]
    public static partial int RdmaFakeCreate(uint recvSlots, uint slotBytes, ulong regionBytes, ulong mrCacheBytes, out nint conn);

    [LibraryImport(LibraryName, EntryPoint = "psf_rdma_fake_fail_next")]
    public static partial int RdmaFakeFailNext(int status);

    [LibraryImport(LibraryName, EntryPoint = "psf_rdma_fake_counts")]
    public static partial int RdmaFakeCounts(ulong* registrations, ulong* deregistrations);

    [LibraryImport(LibraryName, EntryPoint = "psf_rdma_fake_posted_write")]
    public static partial int RdmaFakePostedWrite(uint back, ulong* addr, ulong* length, uint* lkey);

    [LibraryImport(LibraryName, EntryPoint = "psf_rdma_fake_set_deferred")]
    public static partial int RdmaFakeSetDeferred(int deferred);

    // ---- shared-memory connection (psf_shm_*): conn is a psf_shm_conn* ----
    // The four calls of the data path never block and take tens of nanoseconds (a futex wake,
    // when the peer sleeps, is the longest), so they skip the GC transition, which costs as much
    // as they do; the waits keep it, since they may park for up to their timeout.

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
    [SuppressGCTransition]
    public static partial int ShmTryClaim(nint conn, uint length, void** ptr);

    [LibraryImport(LibraryName, EntryPoint = "psf_shm_commit")]
    [SuppressGCTransition]
    public static partial int ShmCommit(nint conn, int type);

    [LibraryImport(LibraryName, EntryPoint = "psf_shm_wait_claim")]
    public static partial int ShmWaitClaim(nint conn, uint length, long timeoutNs);

    [LibraryImport(LibraryName, EntryPoint = "psf_shm_send")]
    public static partial int ShmSend(nint conn, int type, void* data, ulong length, long timeoutNs);

    [LibraryImport(LibraryName, EntryPoint = "psf_shm_try_read")]
    [SuppressGCTransition]
    public static partial int ShmTryRead(nint conn, void** ptr, uint* length, int* type);

    [LibraryImport(LibraryName, EntryPoint = "psf_shm_release")]
    [SuppressGCTransition]
    public static partial int ShmRelease(nint conn);

    [LibraryImport(LibraryName, EntryPoint = "psf_shm_wait")]
    public static partial int ShmWait(nint conn, long timeoutNs);

    [LibraryImport(LibraryName, EntryPoint = "psf_shm_recv")]
    public static partial int ShmRecv(nint conn, void* buf, ulong cap, ulong* length, int* type, long timeoutNs);

    // ---- native TCP connection (psf_tcp_*): conn is a psf_tcp_conn*, listener a psf_tcp_listener* ----

    [LibraryImport(LibraryName, EntryPoint = "psf_tcp_listen", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int TcpListen(string address, ushort port, out nint listener, out ushort boundPort);

    [LibraryImport(LibraryName, EntryPoint = "psf_tcp_accept")]
    public static partial int TcpAccept(nint listener, long timeoutNs, out nint conn);

    [LibraryImport(LibraryName, EntryPoint = "psf_tcp_listener_close")]
    public static partial int TcpListenerClose(nint listener);

    [LibraryImport(LibraryName, EntryPoint = "psf_tcp_connect", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int TcpConnect(string address, ushort port, long timeoutNs, out nint conn);

    [LibraryImport(LibraryName, EntryPoint = "psf_tcp_sendv")]
    public static partial int TcpSendv(nint conn, PsfIoVec* iov, int count, long timeoutNs);

    [LibraryImport(LibraryName, EntryPoint = "psf_tcp_try_sendv")]
    public static partial int TcpTrySendv(nint conn, PsfIoVec* iov, int count);

    [LibraryImport(LibraryName, EntryPoint = "psf_tcp_recv")]
    public static partial int TcpRecv(nint conn, void* buf, ulong cap, ulong minBytes, ulong* received, long timeoutNs);

    [LibraryImport(LibraryName, EntryPoint = "psf_tcp_shutdown")]
    public static partial int TcpShutdown(nint conn);

    [LibraryImport(LibraryName, EntryPoint = "psf_tcp_peer")]
    public static partial int TcpPeer(nint conn, byte* address, uint cap, ushort* port);

    [LibraryImport(LibraryName, EntryPoint = "psf_tcp_close")]
    public static partial int TcpClose(nint conn);

    // ---- same-run baselines of `psf bench transport` ----

    [LibraryImport(LibraryName, EntryPoint = "psf_bench_memcpy")]
    public static partial int BenchMemcpy(ulong bytes, uint iterations, double* gbps);

    [LibraryImport(LibraryName, EntryPoint = "psf_bench_tcp_stream")]
    public static partial int BenchTcpStream(ulong messageBytes, ulong totalBytes, double* gbps);

    [LibraryImport(LibraryName, EntryPoint = "psf_bench_tcp_stream_uring")]
    public static partial int BenchTcpStreamUring(ulong messageBytes, ulong totalBytes, uint depth, double* gbps);

    [LibraryImport(LibraryName, EntryPoint = "psf_bench_tcp_pingpong")]
    public static partial int BenchTcpPingPong(uint iterations, double* p50Us, double* p99Us);

    [LibraryImport(LibraryName, EntryPoint = "psf_bench_shm_stream")]
    public static partial int BenchShmStream(ulong messageBytes, ulong totalBytes, double* gbps);

    [LibraryImport(LibraryName, EntryPoint = "psf_bench_shm_pingpong")]
    public static partial int BenchShmPingPong(uint iterations, int spinOnly, double* p50Us, double* p99Us);
}
