using System.Runtime.InteropServices;

namespace ParameterServer.Fast.Core.Interop;

/// <summary>
/// The managed face of libpsf_native. The library is optional: without it the managed code and
/// transports still work, and anything that needs it says why it is unavailable.
/// </summary>
public static unsafe class PsfNative
{
    private static readonly Lazy<string?> s_loadError = new(ProbeLoad);

    /// <summary>True when libpsf_native was found and loaded.</summary>
    public static bool IsAvailable => s_loadError.Value is null;

    /// <summary>Why the library could not be loaded, or null when it was.</summary>
    public static string? UnavailableReason => s_loadError.Value;

    /// <summary>The library's version as major.minor.patch.</summary>
    public static Version Version
    {
        get
        {
            EnsureAvailable();
            uint v = NativeMethods.Version();
            return new Version((int)(v >> 16), (int)((v >> 8) & 0xFF), (int)(v & 0xFF));
        }
    }

    /// <summary>Throws a clear error naming what is missing unless the library is loaded.</summary>
    public static void EnsureAvailable()
    {
        if (s_loadError.Value is { } reason)
            throw new DllNotFoundException(reason);
    }

    /// <summary>This thread's last native error message ("" when none).</summary>
    public static string LastError()
    {
        byte* message = NativeMethods.LastError();
        return message is null ? "" : Marshal.PtrToStringUTF8((IntPtr)message) ?? "";
    }

    /// <summary>The C reference of dst[i] += src[i], compiled -O3 -march=native: the yardstick of the SIMD kernels.</summary>
    public static void ReferenceSumInto(Span<float> dst, ReadOnlySpan<float> src)
    {
        Kernels.VectorKernels.CheckSameLength(dst.Length, src.Length);
        fixed (float* d = dst)
        fixed (float* s = src)
            Check(NativeMethods.RefSumInto(d, s, (ulong)dst.Length), "psf_ref_sum_into");
    }

    /// <summary>C memcpy: the yardstick of memory bandwidth.</summary>
    public static void ReferenceCopy(Span<byte> dst, ReadOnlySpan<byte> src)
    {
        Kernels.VectorKernels.CheckSameLength(dst.Length, src.Length);
        fixed (byte* d = dst)
        fixed (byte* s = src)
            Check(NativeMethods.RefCopy(d, s, (ulong)dst.Length), "psf_ref_copy");
    }

    /// <summary>Throws <see cref="NativeException"/> for a negative status.</summary>
    public static int Check(int status, string operation)
    {
        if (status < 0)
            ThrowNative(status, operation);
        return status;
    }

    private static void ThrowNative(int status, string operation) =>
        throw new NativeException((NativeStatus)status, $"{operation} failed ({(NativeStatus)status}): {LastError()}");

    private static string? ProbeLoad()
    {
        NativeLibraryResolver.Register();
        try
        {
            _ = NativeMethods.Version();
            return null;
        }
        catch (DllNotFoundException)
        {
            return $"{NativeLibraryResolver.FileName} was not found (looked in {string.Join(", ", NativeLibraryResolver.Candidates())} " +
                   "and the system paths): run ./build.sh to build the native shim";
        }
        catch (EntryPointNotFoundException e)
        {
            return $"{NativeLibraryResolver.FileName} is too old or foreign: {e.Message}";
        }
    }
}

/// <summary>A native call returned a failure status.</summary>
public sealed class NativeException(NativeStatus status, string message) : Exception(message)
{
    public NativeStatus Status { get; } = status;
}
