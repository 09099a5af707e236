using ParameterServer.Fast.Cluster.Replication;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Tests.Replication;

/// <summary>Rows sent under a map not yet seen wait for it, in arrival order; a closed peer's go; a peer claiming maps that never come is refused past the limit.</summary>
public sealed class EarlyRowsTests
{
    [Test]
    public void FramesComeOutOnceTheirMapArrivesInArrivalOrder()
    {
        var early = new EarlyRows();
        IConnection a = new NamedConnection("a"), b = new NamedConnection("b");
        early.Hold(a, [1], 5);
        early.Hold(b, [2], 6);
        early.Hold(a, [3], 5);
        Assert.That(early.TakeUpTo(4), Is.Empty);
        Assert.That(early.TakeUpTo(5).Select(f => f.Bytes[0]), Is.EqualTo(new byte[] { 1, 3 }));
        Assert.That(early.IsEmpty, Is.False);
        Assert.That(early.TakeUpTo(9).Select(f => (f.Connection, f.Bytes[0])), Is.EqualTo(new[] { (b, (byte)2) }));
        Assert.That(early.IsEmpty, Is.True);
    }

    [Test]
    public void AClosedConnectionsFramesAreDroppedAndTheLimitHolds()
    {
        var early = new EarlyRows();
        IConnection liar = new NamedConnection("liar"), honest = new NamedConnection("honest");
        early.Hold(honest, [7], 3);
        early.Hold(liar, new byte[EarlyRows.MaxBytes / 2], 1000);
        var e = Assert.Throws<ProtocolException>(() => early.Hold(liar, new byte[EarlyRows.MaxBytes / 2], 1000));
        Assert.That(e!.Message, Does.Contain("liar").And.Contain("1000"));
        early.Forget(liar);
        early.Hold(honest, new byte[EarlyRows.MaxBytes / 2], 4);
        Assert.That(early.TakeUpTo(4).Select(f => f.Bytes.Length), Is.EqualTo(new[] { 1, (int)(EarlyRows.MaxBytes / 2) }));
    }

    private sealed class NamedConnection(string name) : IConnection
    {
        public string RemoteName => name;
        public bool IsConnected => true;
        public Task Completion => Task.CompletedTask;
        public void Start(IFrameHandler handler) { }
        public ValueTask SendAsync(Transport.Connections.FrameSegments frame, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
