using System.Buffers.Binary;
using System.Security.Cryptography;

using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Transport.Security;

/// <summary>A byte pipe the handshake runs over, before the connection carries frames.</summary>
public interface IHandshakeChannel
{
    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>Fills <paramref name="buffer"/> or throws when the peer closes first.</summary>
    ValueTask ReadExactAsync(Memory<byte> buffer, CancellationToken cancellationToken);
}

/// <summary>
/// Mutual HMAC-SHA256 challenge-response over the cluster secret, run on every new connection of
/// every transport before a single frame is decoded:
/// <code>
///   acceptor  → connector  HELLO     magic "PSFH" | version u16 | 0 u16 | challenge[32]          40 bytes
///   connector → acceptor   PROOF     magic "PSFP" | version u16 | 0 u16 | nonce[32] | mac[32]   72 bytes
///                          mac = HMAC(secret, "psf-client" | challenge | nonce)
///   acceptor  → connector  VERDICT   status u32 (0 = accepted) | mac[32]                        36 bytes
///                          mac = HMAC(secret, "psf-server" | nonce | challenge)
/// </code>
/// Fresh random challenges make a recorded proof useless; the acceptor's own proof lets the
/// connector refuse an impostor. A peer that sends anything else is refused at once. Under TLS
/// both MACs also cover a channel binding (the hash of the server's certificate), so a relay that
/// terminates TLS on both sides cannot forward a valid proof.
/// </summary>
public static class Handshake
{
    public const ushort Version = 1;
    public const int HelloBytes = 40, ProofBytes = 72, VerdictBytes = 36;
    private const uint HelloMagic = 0x48465350;   // "PSFH" little-endian
    private const uint ProofMagic = 0x50465350;   // "PSFP"
    private const int RandomBytes = 32, MacBytes = 32;

    private static ReadOnlySpan<byte> ClientLabel => "psf-client"u8;
    private static ReadOnlySpan<byte> ServerLabel => "psf-server"u8;

    /// <summary>Default bound on the whole exchange: a peer that stalls is refused.</summary>
    public static TimeSpan Timeout { get; } = TimeSpan.FromSeconds(5);

    public static async ValueTask AcceptAsync(IHandshakeChannel channel, ClusterSecret secret, string peer, CancellationToken cancellationToken, byte[]? binding = null)
    {
        binding ??= [];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        byte[] challenge = RandomNumberGenerator.GetBytes(RandomBytes);
        var hello = new byte[HelloBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(hello, HelloMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(hello.AsSpan(4), Version);
        challenge.CopyTo(hello, 8);
        var proof = new byte[ProofBytes];
        try
        {
            await channel.WriteAsync(hello, timeout.Token).ConfigureAwait(false);
            await channel.ReadExactAsync(proof, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AuthenticationException($"refused {peer}: no handshake within {Timeout.TotalSeconds:0} s");
        }
        catch (IOException e) when (e is not AuthenticationException)
        {
            throw new AuthenticationException($"refused {peer}: the connection ended during the handshake ({e.Message})");
        }
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(proof);
        if (magic != ProofMagic)
            throw new AuthenticationException($"refused {peer}: not a psf peer (first bytes 0x{magic:x8}, expected 0x{ProofMagic:x8})");
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(proof.AsSpan(4));
        if (version != Version)
            throw new AuthenticationException($"refused {peer}: handshake version {version}, this node speaks {Version}");
        ReadOnlySpan<byte> nonce = proof.AsSpan(8, RandomBytes);
        Span<byte> expected = stackalloc byte[MacBytes];
        secret.Mac(ClientLabel, challenge, nonce, binding, expected);
        var verdict = new byte[VerdictBytes];
        bool accepted = CryptographicOperations.FixedTimeEquals(expected, proof.AsSpan(8 + RandomBytes, MacBytes));
        BinaryPrimitives.WriteUInt32LittleEndian(verdict, accepted ? 0u : 1u);
        if (accepted)
            secret.Mac(ServerLabel, nonce, challenge, binding, verdict.AsSpan(4));
        await channel.WriteAsync(verdict, timeout.Token).ConfigureAwait(false);
        if (!accepted)
            throw new AuthenticationException($"refused {peer}: wrong cluster secret");
    }

    public static async ValueTask ConnectAsync(IHandshakeChannel channel, ClusterSecret secret, string peer, CancellationToken cancellationToken, byte[]? binding = null)
    {
        binding ??= [];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        var hello = new byte[HelloBytes];
        var verdict = new byte[VerdictBytes];
        byte[] nonce = RandomNumberGenerator.GetBytes(RandomBytes);
        try
        {
            await channel.ReadExactAsync(hello, timeout.Token).ConfigureAwait(false);
            uint magic = BinaryPrimitives.ReadUInt32LittleEndian(hello);
            if (magic != HelloMagic)
                throw new AuthenticationException($"{peer} is not a psf node (first bytes 0x{magic:x8})");
            ushort version = BinaryPrimitives.ReadUInt16LittleEndian(hello.AsSpan(4));
            if (version != Version)
                throw new AuthenticationException($"{peer} speaks handshake version {version}, this node {Version}");
            var proof = new byte[ProofBytes];
            BinaryPrimitives.WriteUInt32LittleEndian(proof, ProofMagic);
            BinaryPrimitives.WriteUInt16LittleEndian(proof.AsSpan(4), Version);
            nonce.CopyTo(proof, 8);
            secret.Mac(ClientLabel, hello.AsSpan(8, RandomBytes), nonce, binding, proof.AsSpan(8 + RandomBytes, MacBytes));
            await channel.WriteAsync(proof, timeout.Token).ConfigureAwait(false);
            await channel.ReadExactAsync(verdict, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AuthenticationException($"{peer} did not complete the handshake within {Timeout.TotalSeconds:0} s");
        }
        catch (IOException e) when (e is not AuthenticationException)
        {
            throw new AuthenticationException($"{peer} closed the connection during the handshake: wrong cluster secret? ({e.Message})");
        }
        if (BinaryPrimitives.ReadUInt32LittleEndian(verdict) != 0)
            throw new AuthenticationException($"{peer} refused this node: wrong cluster secret");
        Span<byte> expected = stackalloc byte[MacBytes];
        secret.Mac(ServerLabel, nonce, hello.AsSpan(8, RandomBytes), binding, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, verdict.AsSpan(4, MacBytes)))
            throw new AuthenticationException($"{peer} could not prove it holds the cluster secret");
    }
}
