using System.Diagnostics;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Transport.Tests;

/// <summary>
/// A peer process killed with SIGKILL (no goodbye, no FIN from user code) is reported by the
/// survivor within a second, and the listener goes on accepting. The peer is the published CLI's
/// hidden `psf transport-probe connect` (./build.sh publishes it before the tests run).
/// </summary>
public class PeerDeathTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    private static string? PsfBinary()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "artifacts", "psf", "psf");
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    [TestCase("shm")]
    [TestCase("tcp4")]
    public async Task APeerKilledWithSigkillIsReportedWithinASecond(string kind)
    {
        string psf = PsfBinary() ?? "";
        if (psf.Length == 0)
            Assert.Ignore("artifacts/psf/psf is missing: run ./build.sh first");
        (ITransport transport, Endpoint endpoint) = TransportFixture.Create(kind);
        await using IListener listener = transport.Listen(endpoint);
        var info = new ProcessStartInfo(psf) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "transport-probe", "connect", listener.LocalEndpoint.ToString(), "--seconds", "30" })
            info.ArgumentList.Add(a);
        info.Environment["PSF_SECRET"] = TransportFixture.Secret.ToHex();
        using var child = Process.Start(info)!;
        try
        {
            using var cts = new CancellationTokenSource(s_wait);
            IConnection server = await listener.AcceptAsync(cts.Token);
            var handler = new CollectingHandler();
            server.Start(handler);
            await handler.WaitForFrames(1, s_wait);
            Assert.That(handler.Frames.Single(), Is.EqualTo("probe"u8.ToArray()));

            var clock = Stopwatch.StartNew();
            child.Kill(); // SIGKILL on Unix
            Task closed = handler.Closed.Task;
            Assert.That(await Task.WhenAny(closed, Task.Delay(s_wait)), Is.SameAs(closed), "the survivor hears of the death");
            TimeSpan took = clock.Elapsed;
            TestContext.Out.WriteLine($"{kind}: closure reported {took.TotalMilliseconds:0} ms after SIGKILL");
            Assert.That(took, Is.LessThan(TimeSpan.FromSeconds(1)));
            Assert.That(server.IsConnected, Is.False);
            await Assert.ThrowsAsync<ConnectionClosedException>(async () => await server.SendAsync(new byte[] { 1 }));
            await server.DisposeAsync();

            // The listener carries on: a new connection works.
            ValueTask<IConnection> accept = listener.AcceptAsync(cts.Token);
            await using IConnection client = await transport.ConnectAsync(listener.LocalEndpoint, cts.Token);
            await using IConnection again = await accept;
            var second = new CollectingHandler();
            again.Start(second);
            client.Start(new CollectingHandler());
            await client.SendAsync(new byte[] { 42 });
            await second.WaitForFrames(1, s_wait);
            Assert.That(second.Frames.Single(), Is.EqualTo(new byte[] { 42 }));
        }
        finally
        {
            if (!child.HasExited)
                child.Kill();
            await child.WaitForExitAsync(new CancellationTokenSource(s_wait).Token);
        }
    }
}
