using ParameterServer.Fast.Core.Interop;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Transport.Shm;

/// <summary>
/// Runs the HMAC handshake as the first records of the rings themselves (type HANDSHAKE), so the
/// proof binds the segment that will carry the frames, not the rendezvous socket.
/// </summary>
internal sealed class ShmHandshakeChannel(ShmChannel channel, string peer) : IHandshakeChannel
{
    // 20 ms slices: a cancelled or timed-out handshake is noticed that quickly.
    private const long SliceNs = 20_000_000;
    private byte[] _pending = [];
    private int _offset;

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        NativeStatus status = channel.Send(ShmRecords.Handshake, data.Span, (long)Handshake.Timeout.TotalMilliseconds * 1_000_000);
        return status == NativeStatus.Ok
            ? ValueTask.CompletedTask
            : ValueTask.FromException(new ConnectionClosedException($"{peer}: {status} while sending the handshake"));
    }

    public ValueTask ReadExactAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int filled = 0;
        while (filled < buffer.Length)
        {
            if (_offset >= _pending.Length)
                NextRecord(cancellationToken);
            int n = Math.Min(buffer.Length - filled, _pending.Length - _offset);
            _pending.AsSpan(_offset, n).CopyTo(buffer.Span[filled..]);
            _offset += n;
            filled += n;
        }
        return ValueTask.CompletedTask;
    }

    private void NextRecord(CancellationToken cancellationToken)
    {
        while (true)
        {
            NativeStatus status = channel.TryRead(out ReadOnlySpan<byte> record, out int type);
            if (status == NativeStatus.Ok)
            {
                if (type != ShmRecords.Handshake)
                {
                    channel.Release();
                    throw new AuthenticationException($"refused {peer}: a record of type 0x{type:x} came before the handshake finished");
                }
                _pending = record.ToArray();
                _offset = 0;
                channel.Release();
                return;
            }
            if (status == NativeStatus.Again)
                status = channel.Wait(SliceNs);
            if (status is NativeStatus.Ok or NativeStatus.Timeout)
            {
                cancellationToken.ThrowIfCancellationRequested();
                continue;
            }
            throw new ConnectionClosedException($"{peer}: {status} during the handshake ({ShmChannel.LastError()})");
        }
    }
}
