namespace ParameterServer.Fast.Core.Interop;

/// <summary>The PSF_E_* codes of native/include/psf.h; the values are the ABI.</summary>
public enum NativeStatus
{
    Ok = 0,
    Invalid = -1,
    NoMemory = -2,
    System = -3,
    Unsupported = -4,
    NoDevice = -5,
    Again = -6,
    Closed = -7,
    Timeout = -8,
    Protocol = -9,
}
