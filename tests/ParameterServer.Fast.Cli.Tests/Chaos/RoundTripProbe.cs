using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ParameterServer.Fast.Cli.Tests.Chaos;

/// <summary>
/// Measures TCP round trips to an <see cref="EchoListener"/>: one connection, then
/// <c>count</c> one-byte pings each waiting for its echo. The minimum is the link's own delay
/// (a lost packet or a busy machine only ever adds to a round trip); the median shows the spread.
/// </summary>
internal static class RoundTripProbe
{
    public readonly record struct Result(TimeSpan Minimum, TimeSpan Median, int Count)
    {
        public override string ToString() => $"min {Minimum.TotalMilliseconds:0.00} ms, median {Median.TotalMilliseconds:0.00} ms over {Count} pings";
    }

    /// <summary>Connects from a socket of <paramref name="sockets"/> to <paramref name="echo"/>; every wait is bounded by <paramref name="timeout"/>.</summary>
    public static async Task<Result> MeasureAsync(Func<Socket> sockets, IPEndPoint echo, int count, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using Socket socket = sockets();
        socket.NoDelay = true;
        await socket.ConnectAsync(echo, cts.Token);
        byte[] ping = [42], pong = new byte[1];
        var times = new TimeSpan[count];
        for (int i = 0; i < count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await socket.SendAsync(ping, SocketFlags.None, cts.Token);
            if (await socket.ReceiveAsync(pong, SocketFlags.None, cts.Token) != 1)
                throw new InvalidOperationException($"the echo at {echo} closed after {i} pings");
            times[i] = Stopwatch.GetElapsedTime(start);
        }
        Array.Sort(times);
        return new Result(times[0], times[count / 2], count);
    }
}
