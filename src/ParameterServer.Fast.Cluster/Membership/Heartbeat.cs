using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Membership;

/// <summary>
/// Sends a heartbeat to the scheduler every interval until disposed, with <c>extras</c> (a server's
/// load totals) when given.
/// </summary>
internal sealed class Heartbeat : IDisposable
{
    private readonly Timer _timer;

    public Heartbeat(IConnection scheduler, Func<uint> sender, TimeSpan interval, Func<byte[]>? extras = null)
    {
        _timer = new Timer(_ =>
        {
            if (scheduler.IsConnected)
                _ = FrameOut.SendControl(scheduler, new FrameHeader(MessageType.Heartbeat, SenderId: sender()), extras?.Invoke() ?? []).AsTask().ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
        }, null, interval, interval);
    }

    public void Dispose() => _timer.Dispose();
}
