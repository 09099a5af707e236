using System.Diagnostics;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Transport.Tests;

/// <summary>
/// A peer process killed with SIGKILL (no goodbye, no FIN from user code), idle or in the middle
/// of a frame, is reported by the survivor within a second, leaves no descriptor or segment
/// behind, and the listener goes on accepting. The peer is the published CLI's
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

    private static int OpenDescriptors() => Descriptors().Count;

    // What each open descriptor is ("socket:[123]", "anon_inode:[pidfd]", "/dev/shm/…"), less
    // the assemblies and libraries the runtime maps as it first needs them: they are not the
    // connection's, and loading one mid-test is no leak.
    private static List<string> Descriptors()
    {
        var targets = new List<string>();
        foreach (string fd in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                string target = new FileInfo(fd).LinkTarget ?? "?";
                if (!target.EndsWith(".dll", StringComparison.Ordinal) && !target.EndsWith(".so", StringComparison.Ordinal))
                    targets.Add(target);
            }
            catch (IOException)
            {
                // Closed while we looked.
            }
        }
        targets.Sort(StringComparer.Ordinal);
        return targets;
    }

    private static string[] OurSegments() =>
        Directory.Exists("/dev/shm") ? Directory.GetFiles("/dev/shm", $"psf-{Environment.ProcessId}-*") : [];

    // streamMiB 0: the peer sits idle after its first frame; otherwise it streams frames of that
    // size, so the kill lands in the middle of one (a shm frame of 4 MiB is chunked through the
    // ring, a TCP one spans many segments).
    [TestCase("shm", 0)]
    [TestCase("shm", 4)]
    [TestCase("tcp4", 0)]
    [TestCase("tcp4", 4)]
    [TestCase("tcp-native", 4)]
    public async Task APeerKilledWithSigkillIsReportedWithinASecondAndNothingLeaks(string kind, int streamMiB)
    {
        string psf = PsfBinary() ?? "";
        if (psf.Length == 0)
            Assert.Ignore("artifacts/psf/psf is missing: run ./build.sh first");
        (ITransport transport, Endpoint endpoint) = TransportFixture.Create(kind);
        await using IListener listener = transport.Listen(endpoint);
        // One connection made and closed first, so whatever the runtime opens once (its socket
        // engine's epoll set and pipe) is open before the descriptors are counted.
        using (var warm = new CancellationTokenSource(s_wait))
        {
            ValueTask<IConnection> accepting = listener.AcceptAsync(warm.Token);
            await (await transport.ConnectAsync(listener.LocalEndpoint, warm.Token)).DisposeAsync();
            await (await accepting).DisposeAsync();
        }
        var info = new ProcessStartInfo(psf) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "transport-probe", "connect", listener.LocalEndpoint.ToString(), "--seconds", "30", "--stream-mib", $"{streamMiB}" })
            info.ArgumentList.Add(a);
        info.Environment["PSF_SECRET"] = TransportFixture.Secret.ToHex();
        using var child = Process.Start(info)!;
        int descriptors = OpenDescriptors();
        List<string> before = Descriptors();
        try
        {
            using var cts = new CancellationTokenSource(s_wait);
            IConnection server = await listener.AcceptAsync(cts.Token);
            var handler = new CollectingHandler();
            server.Start(handler);
            await handler.WaitForFrames(streamMiB == 0 ? 1 : 3, s_wait);
            Assert.That(handler.Frames.First(), Is.EqualTo("probe"u8.ToArray()));

            var clock = Stopwatch.StartNew();
            child.Kill(); // SIGKILL on Unix
            Task<Exception?> closed = handler.Closed.Task;
            Assert.That(await Task.WhenAny(closed, Task.Delay(s_wait)), Is.SameAs(closed), "the survivor hears of the death");
            TimeSpan took = clock.Elapsed;
            TestContext.Out.WriteLine($"{kind}: closure reported {took.TotalMilliseconds:0} ms after SIGKILL");
            TestContext.Out.WriteLine($"{kind}: {handler.Frames.Count} frames, then {(await closed is { } e ? e.Message : "an end of stream")}");
            Assert.That(took, Is.LessThan(TimeSpan.FromSeconds(1)));
            Assert.That(server.IsConnected, Is.False);
            Assert.That(server.TrySend(new byte[] { 1 }), Is.EqualTo(SendStatus.NotConnected));
            await Assert.ThrowsAsync<ConnectionClosedException>(async () => await server.SendAsync(new byte[] { 1 }));
            await server.DisposeAsync();
            await child.WaitForExitAsync(cts.Token);

            // Nothing leaked: the socket, epoll sets, pidfd and segment of the dead connection are
            // gone (descriptors back to what they were before it was accepted) and no segment of
            // this process is left in /dev/shm.
            bool released = SpinWait.SpinUntil(() => OpenDescriptors() <= descriptors, TimeSpan.FromSeconds(5));
            List<string> after = Descriptors();
            foreach (string target in before)
                after.Remove(target);
            Assert.That(released, Is.True, $"{OpenDescriptors()} descriptors open, {descriptors} before the connection; new: {string.Join(", ", after)}");
            Assert.That(OurSegments(), Is.Empty);

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
