using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ParameterServer.Fast.Transport.Tcp;

/// <summary>
/// TLS for TCP connections. Who a peer is, is still proven by the HMAC handshake over the cluster
/// secret, which runs inside TLS and is bound to the server's certificate (the tls-server-end-point
/// channel binding), so certificates need no PKI: a relay that terminates TLS on both sides cannot
/// pass the handshake, and a self-signed certificate per server is enough.
/// </summary>
public sealed class TlsOptions
{
    private TlsOptions(X509Certificate2 certificate) => Certificate = certificate;

    /// <summary>The certificate a listener presents.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>A fresh self-signed ECDSA P-256 certificate, valid for a week.</summary>
    public static TlsOptions SelfSigned(string subject = "psf")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={subject}", key, HashAlgorithmName.SHA256);
        using X509Certificate2 created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(7));
        // Round-trip through PKCS#12 so the private key is usable by SslStream on every platform.
        return new TlsOptions(X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null));
    }

    /// <summary>A certificate with its private key from a PKCS#12 (.pfx) file.</summary>
    public static TlsOptions FromFile(string path, string? password = null)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"TLS certificate file '{path}' does not exist");
        X509Certificate2 certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password);
        if (!certificate.HasPrivateKey)
            throw new ArgumentException($"TLS certificate file '{path}' holds no private key");
        return new TlsOptions(certificate);
    }
}
