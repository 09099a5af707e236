using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Cli.Commands;

/// <summary>
/// `psf transport-probe connect ENDPOINT [--seconds S] [--stream-mib M]` (hidden; a test helper):
/// connects with the secret of PSF_SECRET, sends one frame "probe", prints "connected" and then
/// holds the connection for S seconds (30 by default) so a test can kill it with SIGKILL
/// mid-connection. With --stream-mib it sends frames of M MiB back to back meanwhile, so the
/// kill lands in the middle of one.
/// </summary>
public static class TransportProbeCommand
{
    public static int Run(string[] argv, TextWriter output)
    {
        if (argv.Length < 2 || argv[0] != "connect")
            throw new UsageException("usage: psf transport-probe connect tcp://HOST:PORT|shm://NAME [--seconds S] [--stream-mib M]");
        var args = new Arguments("transport-probe", argv.Skip(2));
        int seconds = args.Int("seconds", 30, 1, 600);
        int streamMiB = args.Int("stream-mib", 0, 0, 256);
        args.EnsureAllUsed();
        Endpoint endpoint = Endpoint.Parse(argv[1]);
        ClusterSecret secret = ClusterSecret.FromEnvironment(null)
            ?? throw new UsageException("psf transport-probe: set PSF_SECRET");
        ITransport transport = TransportFactory.Create(endpoint.Kind, secret);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        IConnection connection = transport.ConnectAsync(endpoint, cts.Token).AsTask().GetAwaiter().GetResult();
        connection.Start(new IgnoringHandler());
        connection.SendAsync("probe"u8.ToArray()).AsTask().GetAwaiter().GetResult();
        output.WriteLine("connected");
        output.Flush();
        if (streamMiB > 0)
        {
            byte[] frame = GC.AllocateArray<byte>(streamMiB << 20, pinned: true);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < seconds && connection.TrySendAsync(frame).AsTask().GetAwaiter().GetResult() == SendStatus.Sent)
            {
            }
        }
        else
        {
            connection.Completion.Wait(TimeSpan.FromSeconds(seconds));
        }
        connection.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return 0;
    }

    private sealed class IgnoringHandler : IFrameHandler
    {
        public void OnFrame(IConnection connection, ReadOnlySpan<byte> frame)
        {
        }

        public void OnClosed(IConnection connection, Exception? error)
        {
        }
    }
}
