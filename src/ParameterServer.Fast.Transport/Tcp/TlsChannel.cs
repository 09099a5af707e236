using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Transport.Tcp;

/// <summary>
/// Sets up a TLS connection: TLS first, then the HMAC handshake inside it, bound to the SHA-256
/// hash of the server's certificate (RFC 5929's tls-server-end-point). The certificate itself is
/// not checked against any authority: the bound handshake is what proves the peer.
/// </summary>
internal static class TlsChannel
{
    public static async Task<IConnection> ConnectAsync(Socket socket, ClusterSecret secret, string peer, int maxFrameBytes, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "psf",
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null,
            }, cancellationToken).ConfigureAwait(false);
            byte[] binding = Binding(ssl.RemoteCertificate!);
            await Handshake.ConnectAsync(new StreamHandshakeChannel(ssl), secret, peer, cancellationToken, binding).ConfigureAwait(false);
            return new StreamConnection(ssl, socket, peer, maxFrameBytes);
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public static async Task<IConnection> AcceptAsync(Socket socket, TlsOptions tls, ClusterSecret secret, string peer, int maxFrameBytes, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Handshake.Timeout);
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = tls.Certificate }, timeout.Token).ConfigureAwait(false);
            await Handshake.AcceptAsync(new StreamHandshakeChannel(ssl), secret, peer, cancellationToken, Binding(tls.Certificate)).ConfigureAwait(false);
            return new StreamConnection(ssl, socket, peer, maxFrameBytes);
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static byte[] Binding(X509Certificate certificate) => SHA256.HashData(certificate.GetRawCertData());
}
