using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using ParameterServer.Fast.Codec.Frames;

namespace ParameterServer.Fast.Codec.Keys;

/// <summary>
/// A 128-bit fingerprint of a key list: what travels instead of the list once both ends cached it.
/// <para>
/// The function: XXH64's stripe loop over the keys as u64 words (four 64-bit lanes, 256 bits of
/// state, each lane a multiply-rotate-multiply round per key), then the key count and the 0–3
/// leftover keys are mixed in, and the state is folded into two 64-bit halves by two different
/// finalisers. For unrelated lists a collision has probability about 2^-128 per pair, so a worker
/// with 2^32 distinct lists in its lifetime sees one with probability about 2^-64. It is not a
/// cryptographic hash: peers are authenticated by HMAC, so only accidental collisions matter, and
/// a cache hit also requires the key count to match. About 0.3 ns per key (four independent
/// multiply chains), so the sender can afford to sign every push.
/// </para>
/// </summary>
public readonly record struct KeySignature(ulong Low, ulong High)
{
    private const ulong P1 = 0x9E3779B185EBCA87UL;
    private const ulong P2 = 0xC2B2AE3D27D4EB4FUL;
    private const ulong P3 = 0x165667B19E3779F9UL;
    private const ulong P4 = 0x85EBCA77C2B2AE63UL;
    private const ulong P5 = 0x27D4EB2F165667C5UL;

    public static KeySignature Compute(ReadOnlySpan<ulong> keys, ulong seed = 0)
    {
        ulong v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
        int i = 0;
        for (; i + 4 <= keys.Length; i += 4)
        {
            v1 = Round(v1, keys[i]);
            v2 = Round(v2, keys[i + 1]);
            v3 = Round(v3, keys[i + 2]);
            v4 = Round(v4, keys[i + 3]);
        }
        ulong tail = P5 + (ulong)keys.Length;
        for (; i < keys.Length; i++)
            tail = (BitOperations.RotateLeft(tail ^ Round(0, keys[i]), 27) * P1) + P4;

        // Low: XXH64's merge of the four lanes. High: another order, other rotations and the
        // murmur finaliser, so the halves are different functions of the 256-bit state.
        ulong low = BitOperations.RotateLeft(v1, 1) + BitOperations.RotateLeft(v2, 7) +
                    BitOperations.RotateLeft(v3, 12) + BitOperations.RotateLeft(v4, 18);
        low = Merge(Merge(Merge(Merge(low, v1), v2), v3), v4);
        low = Avalanche(low ^ tail);
        ulong high = BitOperations.RotateLeft(v4, 3) ^ (BitOperations.RotateLeft(v3, 29) * P3) ^
                     BitOperations.RotateLeft(v2, 41) ^ (v1 * P5);
        high = Core.Keys.KeyHash.Mix(high + (tail * P2) + (ulong)keys.Length);
        return new KeySignature(low, high);
    }

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, Low);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], High);
    }

    public static KeySignature ReadFrom(ReadOnlySpan<byte> source)
    {
        if (source.Length < FrameLayout.SignatureSize)
            ProtocolException.Throw("key signature length", (ulong)source.Length, $"needs {FrameLayout.SignatureSize} bytes");
        return new KeySignature(BinaryPrimitives.ReadUInt64LittleEndian(source), BinaryPrimitives.ReadUInt64LittleEndian(source[8..]));
    }

    public override string ToString() => $"{High:x16}{Low:x16}";

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Round(ulong acc, ulong input) => BitOperations.RotateLeft(acc + (input * P2), 31) * P1;

    private static ulong Merge(ulong acc, ulong lane) => ((acc ^ Round(0, lane)) * P1) + P4;

    private static ulong Avalanche(ulong h)
    {
        h ^= h >> 33;
        h *= P2;
        h ^= h >> 29;
        h *= P3;
        h ^= h >> 32;
        return h;
    }
}
