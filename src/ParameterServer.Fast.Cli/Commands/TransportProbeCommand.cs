using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Cli.Commands;

/// <summary>
/// `psf transport-probe connect ENDPOINT [--seconds S]` (hidden; a test helper): connects with
/// the secret of PSF_SECRET, sends one frame "probe", prints "connected" and then holds the
/// connection for S seconds (30 by default) so a test can kill it with SIGKILL mid-connection.
/// </summary>
public static class TransportProbeCommand
{
    public static int Run(string[] argv, TextWriter output)
    {
        if (argv.Length < 2 || argv[0] != "connect")
            throw new UsageException("usage: psf transport-probe connect tcp://HOST:PORT|shm://NAME [--seconds S]");
        var args = new Arguments("transport-probe", argv.Skip(2));
        int seconds = args.Int("seconds", 30, 1, 600);
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
        connection.Completion.Wait(TimeSpan.FromSeconds(seconds));
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
