using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ParameterServer.Fast.Cli.Tests.Chaos;

/// <summary>
/// Makes TCP sockets inside a named network namespace (one of `ip netns`) from this process. A
/// socket belongs for its whole life to the namespace its creating thread was in, and setns(2)
/// moves only the calling thread, so each socket is made on a short-lived thread of its own that
/// enters the namespace and ends there; no thread of the runtime's pools ever changes namespace.
/// Reading, writing and accepting then work from any thread.
/// </summary>
internal static class NetworkNamespace
{
    // From linux/sched.h.
    private const int CloneNewNet = 0x40000000;

    // Making a socket takes microseconds; 10 s is only there so a wedged thread cannot hang a test.
    private static readonly TimeSpan ThreadTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A factory of TCP sockets in namespace <paramref name="name"/>.</summary>
    public static Func<Socket> SocketFactory(string name) => () => CreateTcpSocket(name);

    /// <summary>A TCP socket in this process's own namespace, for the same callers off a lab.</summary>
    public static Socket CreateLocalTcpSocket() => new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    /// <summary>A TCP socket whose traffic goes through the interfaces of namespace <paramref name="name"/>.</summary>
    public static Socket CreateTcpSocket(string name)
    {
        Socket? socket = null;
        string? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using SafeFileHandle ns = File.OpenHandle($"/var/run/netns/{name}");
                if (SetNs((int)ns.DangerousGetHandle(), CloneNewNet) != 0)
                    error = $"setns({name}) failed: errno {Marshal.GetLastPInvokeError()}";
                else
                    socket = CreateLocalTcpSocket();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or SocketException)
            {
                error = $"no socket in namespace {name}: {e.Message}";
            }
        }) { IsBackground = true, Name = $"netns {name}" };
        thread.Start();
        if (!thread.Join(ThreadTimeout))
            throw new InvalidOperationException($"making a socket in namespace {name} took over {ThreadTimeout.TotalSeconds} s");
        return socket ?? throw new InvalidOperationException(error ?? $"no socket in namespace {name}");
    }

    // DllImport rather than LibraryImport: two ints need no marshalling code, and this test
    // project has no other reason to allow unsafe blocks (which LibraryImport's stubs require).
    [DllImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static extern int SetNs(int fd, int nstype);
}
