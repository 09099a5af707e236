using System.Threading.Channels;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Codec.Values;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>
/// A connection straight to one server that sends whatever frames a test builds, bypassing the
/// worker client's own checks, as a buggy or hostile worker would. Replies are kept in order.
/// </summary>
internal sealed class RawPeer : IFrameHandler, IAsyncDisposable
{
    private readonly Channel<byte[]> _replies = Channel.CreateUnbounded<byte[]>();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IConnection _connection = null!;
    private ulong _requestId = 1000;

    /// <summary>Completes when the server closes this connection.</summary>
    public Task Closed => _closed.Task;

    /// <summary>The request id of the last frame sent.</summary>
    public ulong LastRequestId => _requestId;

    public static async Task<RawPeer> ConnectAsync(TestCluster cluster, int server)
    {
        var peer = new RawPeer();
        string endpoint = cluster.Workers[0].Map.Servers[server].Endpoint;
        using var cts = new CancellationTokenSource(TestCluster.StartupTimeout);
        peer._connection = await cluster.Transport.ConnectAsync(Endpoint.Parse(endpoint), cts.Token);
        peer._connection.Start(peer);
        return peer;
    }

    /// <summary>Sends a data frame as worker 0 and returns the server's answer: its type and, for an error, the message.</summary>
    public async Task<(MessageType Type, ulong RequestId, string Message)> Request(MessageType type, uint table, ReadOnlyMemory<ulong> keys,
        (ulong Begin, ulong End)? range, ReadOnlyMemory<float> values, long clock = 0)
    {
        ulong id = ++_requestId;
        var header = new FrameHeader(type, table, NodeIds.Worker(0), id, clock, type == MessageType.Pull ? int.MaxValue : 0u);
        KeyRangeOrList keyForm = range is { } r ? KeyRangeOrList.Range(r.Begin, r.End) : KeyRangeOrList.List;
        await FrameOut.SendData(_connection, header, keys.Span, keyForm, values.Span, ValueEncoding.Raw).AsTask().WaitAsync(Bounded.Request);
        using var cts = new CancellationTokenSource(Bounded.Request);
        byte[] reply = await _replies.Reader.ReadAsync(cts.Token);
        return Describe(reply);
    }

    private static (MessageType, ulong, string) Describe(byte[] bytes)
    {
        Frame frame = new FrameDecoder().Read(bytes);
        return (frame.Type, frame.RequestId, frame.Type == MessageType.Error ? FrameDecoder.ErrorMessage(frame) : "");
    }

    public void OnFrame(IConnection connection, ReadOnlySpan<byte> frame) => _replies.Writer.TryWrite(frame.ToArray());

    public void OnClosed(IConnection connection, Exception? error)
    {
        _replies.Writer.TryComplete(error);
        _closed.TrySetResult();
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
