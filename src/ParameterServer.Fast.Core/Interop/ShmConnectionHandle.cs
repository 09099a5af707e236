using System.Runtime.InteropServices;

namespace ParameterServer.Fast.Core.Interop;

/// <summary>Owns one end of a psf_shm connection (a psf_shm_conn*); releasing it runs psf_shm_close.</summary>
internal sealed class ShmConnectionHandle : SafeHandle
{
    public ShmConnectionHandle(nint conn)
        : base(IntPtr.Zero, ownsHandle: true) => SetHandle(conn);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle() => NativeMethods.ShmClose(handle) == 0;
}
