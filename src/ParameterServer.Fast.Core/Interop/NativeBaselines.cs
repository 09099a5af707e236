namespace ParameterServer.Fast.Core.Interop;

/// <summary>
/// The C yardsticks of `psf bench transport` (psf_bench_*): each runs between two threads of this
/// process on this machine now, so a managed figure can be read as a ratio to it.
/// Rates in GB/s (1e9 bytes/s), round trips in µs.
/// </summary>
public static unsafe class NativeBaselines
{
    public static double MemcpyGbps(long bytes, int iterations)
    {
        PsfNative.EnsureAvailable();
        double gbps;
        PsfNative.Check(NativeMethods.BenchMemcpy((ulong)bytes, (uint)iterations, &gbps), "psf_bench_memcpy");
        return gbps;
    }

    public static double TcpStreamGbps(long messageBytes, long totalBytes)
    {
        PsfNative.EnsureAvailable();
        double gbps;
        PsfNative.Check(NativeMethods.BenchTcpStream((ulong)messageBytes, (ulong)totalBytes, &gbps), "psf_bench_tcp_stream");
        return gbps;
    }

    /// <summary>
    /// The same stream with its sender on io_uring, <paramref name="depth"/> sends in flight; null
    /// where the kernel has no io_uring (the figure that tells whether a TCP engine on it would pay).
    /// </summary>
    public static double? TcpStreamUringGbps(long messageBytes, long totalBytes, int depth)
    {
        PsfNative.EnsureAvailable();
        double gbps;
        int status = NativeMethods.BenchTcpStreamUring((ulong)messageBytes, (ulong)totalBytes, (uint)depth, &gbps);
        if (status == -4)
            return null;
        PsfNative.Check(status, "psf_bench_tcp_stream_uring");
        return gbps;
    }

    public static double ShmStreamGbps(long messageBytes, long totalBytes)
    {
        PsfNative.EnsureAvailable();
        double gbps;
        PsfNative.Check(NativeMethods.BenchShmStream((ulong)messageBytes, (ulong)totalBytes, &gbps), "psf_bench_shm_stream");
        return gbps;
    }

    public static (double P50Us, double P99Us) TcpPingPong(int iterations)
    {
        PsfNative.EnsureAvailable();
        double p50, p99;
        PsfNative.Check(NativeMethods.BenchTcpPingPong((uint)iterations, &p50, &p99), "psf_bench_tcp_pingpong");
        return (p50, p99);
    }

    public static (double P50Us, double P99Us) ShmPingPong(int iterations, bool spinOnly)
    {
        PsfNative.EnsureAvailable();
        double p50, p99;
        PsfNative.Check(NativeMethods.BenchShmPingPong((uint)iterations, spinOnly ? 1 : 0, &p50, &p99), "psf_bench_shm_pingpong");
        return (p50, p99);
    }
}
