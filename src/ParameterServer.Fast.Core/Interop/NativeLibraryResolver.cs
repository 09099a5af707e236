using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ParameterServer.Fast.Core.Interop;

/// <summary>
/// Finds libpsf_native: first beside the application (where ./build.sh puts it), then in the
/// folder named by PSF_NATIVE_DIR, then wherever the OS loader looks.
/// </summary>
internal static class NativeLibraryResolver
{
    private static int s_registered;

    public static string FileName =>
        OperatingSystem.IsWindows() ? "psf_native.dll" :
        OperatingSystem.IsMacOS() ? "libpsf_native.dylib" : "libpsf_native.so";

    // A module initializer: the resolver must be in place before the first P/Invoke of this
    // assembly, whichever public type a caller happens to touch first.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register()
    {
        if (Interlocked.Exchange(ref s_registered, 1) == 0)
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraryResolver).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != NativeMethods.LibraryName)
            return IntPtr.Zero;
        foreach (string candidate in Candidates())
        {
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out IntPtr handle))
                return handle;
        }
        return NativeLibrary.TryLoad(name, assembly, searchPath, out IntPtr fallback) ? fallback : IntPtr.Zero;
    }

    public static IEnumerable<string> Candidates()
    {
        yield return Path.Combine(AppContext.BaseDirectory, FileName);
        string? dir = Environment.GetEnvironmentVariable("PSF_NATIVE_DIR");
        if (!string.IsNullOrEmpty(dir))
            yield return Path.Combine(dir, FileName);
    }
}
