using System.Security.Cryptography;
using System.Text;

namespace ParameterServer.Fast.Transport.Security;

/// <summary>
/// The key every node of a job shares: connections prove they hold it before any frame is read.
/// From PSF_SECRET, from a file (--secret-file), or generated for a local cluster.
/// </summary>
public sealed class ClusterSecret
{
    // 16 bytes: 128 bits, the floor for an HMAC-SHA256 key that should resist guessing.
    public const int MinimumBytes = 16;

    private readonly byte[] _key;

    public ClusterSecret(ReadOnlySpan<byte> key)
    {
        if (key.Length < MinimumBytes)
            throw new ArgumentException($"a cluster secret needs at least {MinimumBytes} bytes, got {key.Length}");
        _key = key.ToArray();
    }

    internal ReadOnlySpan<byte> Key => _key;

    public static ClusterSecret Generate() => new(RandomNumberGenerator.GetBytes(32));

    /// <summary>A secret given as text: hex when it looks like hex, else its UTF-8 bytes.</summary>
    public static ClusterSecret FromText(string text)
    {
        text = text.Trim();
        if (text.Length >= 2 * MinimumBytes && text.Length % 2 == 0 && text.All(Uri.IsHexDigit))
            return new ClusterSecret(Convert.FromHexString(text));
        return new ClusterSecret(Encoding.UTF8.GetBytes(text));
    }

    public static ClusterSecret FromFile(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"secret file '{path}' does not exist");
        return FromText(File.ReadAllText(path));
    }

    /// <summary>--secret-file, else PSF_SECRET, else null.</summary>
    public static ClusterSecret? FromEnvironment(string? secretFile)
    {
        if (secretFile is not null)
            return FromFile(secretFile);
        string? env = Environment.GetEnvironmentVariable("PSF_SECRET");
        return string.IsNullOrEmpty(env) ? null : FromText(env);
    }

    public string ToHex() => Convert.ToHexString(_key).ToLowerInvariant();

    /// <summary>HMAC-SHA256 over the concatenation of the parts.</summary>
    internal void Mac(ReadOnlySpan<byte> label, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, ReadOnlySpan<byte> c, Span<byte> destination)
    {
        byte[] message = new byte[label.Length + a.Length + b.Length + c.Length];
        label.CopyTo(message);
        a.CopyTo(message.AsSpan(label.Length));
        b.CopyTo(message.AsSpan(label.Length + a.Length));
        c.CopyTo(message.AsSpan(label.Length + a.Length + b.Length));
        HMACSHA256.HashData(_key, message, destination);
    }
}
