using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Transport.Tests;

/// <summary>The in-process transport's zero-copy path: the receiver handles the sender's own buffer.</summary>
public sealed class InProcHandOffTests
{
    private sealed class SameMemoryHandler(Func<byte[]?> expected) : IFrameHandler
    {
        public readonly TaskCompletionSource<(bool SameMemory, byte[] Bytes)> Seen = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void OnFrame(IConnection connection, ReadOnlySpan<byte> frame)
        {
            byte[]? array = expected();
            bool same = array is not null && Unsafe.AreSame(ref MemoryMarshal.GetReference(frame), ref MemoryMarshal.GetArrayDataReference(array));
            Seen.TrySetResult((same, frame.ToArray()));
        }

        public void OnClosed(IConnection connection, Exception? error) { }
    }

    [Test]
    public async Task AHandedOffFrameReachesTheHandlerInTheSendersOwnBufferWithItsLength()
    {
        (IConnection client, IConnection server, IListener listener) = await TransportFixture.Connect("inproc");
        await using var _ = listener;
        Assert.That(client, Is.InstanceOf<IBufferHandOff>());
        PinnedBuffer buffer = FrameBufferPool.Shared.Rent(100_000);
        byte[] array = buffer.Array;
        for (int i = 0; i < 100_000; i++)
            array[i] = (byte)(i * 7);
        var handler = new SameMemoryHandler(() => array);
        server.Start(handler);
        client.Start(new CollectingHandler());

        SendStatus status = ((IBufferHandOff)client).HandOff(buffer, 99_999);

        Assert.That(status, Is.EqualTo(SendStatus.Sent));
        (bool sameMemory, byte[] bytes) = await handler.Seen.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(sameMemory, Is.True, "the handler reads the sender's buffer, not a copy");
        Assert.That(bytes, Has.Length.EqualTo(99_999));
        Assert.That(bytes, Is.EqualTo(array.AsSpan(0, 99_999).ToArray()));
        await client.DisposeAsync();
        await server.DisposeAsync();
    }

    [Test]
    public async Task AHandOffToAClosedPeerReportsNotConnected()
    {
        (IConnection client, IConnection server, IListener listener) = await TransportFixture.Connect("inproc");
        await using var _ = listener;
        server.Start(new CollectingHandler());
        client.Start(new CollectingHandler());
        await server.DisposeAsync();

        SendStatus status = ((IBufferHandOff)client).HandOff(FrameBufferPool.Shared.Rent(64), 64);

        Assert.That(status, Is.EqualTo(SendStatus.NotConnected));
        await client.DisposeAsync();
    }

    [Test]
    public void ALengthBeyondTheBufferIsRefused()
    {
        (IConnection client, IConnection server, IListener listener) = TransportFixture.Connect("inproc").GetAwaiter().GetResult();
        using PinnedBuffer buffer = FrameBufferPool.Shared.Rent(64);
        Assert.Throws<ArgumentOutOfRangeException>(() => ((IBufferHandOff)client).HandOff(buffer, buffer.Capacity + 1));
        client.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5));
        server.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5));
        listener.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5));
    }
}
