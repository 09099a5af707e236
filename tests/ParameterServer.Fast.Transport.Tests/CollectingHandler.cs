using System.Collections.Concurrent;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Transport.Tests;

/// <summary>Keeps a copy of every frame received and the close reason; waits are bounded.</summary>
internal sealed class CollectingHandler : IFrameHandler
{
    public readonly ConcurrentQueue<byte[]> Frames = new();
    public readonly TaskCompletionSource<Exception?> Closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _arrived = new(0);

    public Action<IConnection, byte[]>? OnEach { get; init; }

    public void OnFrame(IConnection connection, ReadOnlySpan<byte> frame)
    {
        byte[] copy = frame.ToArray();
        Frames.Enqueue(copy);
        OnEach?.Invoke(connection, copy);
        _arrived.Release();
    }

    public void OnClosed(IConnection connection, Exception? error) => Closed.TrySetResult(error);

    public async Task WaitForFrames(int count, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        for (int i = 0; i < count; i++)
            await _arrived.WaitAsync(cts.Token);
    }
}
