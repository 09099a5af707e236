using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Codec.Filters;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Codec.Keys;
using ParameterServer.Fast.Codec.Values;
using ParameterServer.Fast.Core.Interop;
using ParameterServer.Fast.Core.Memory;

namespace ParameterServer.Fast.Cli.Bench;

/// <summary>
/// `psf bench codec`: what the wire codec costs and saves on (a) a dense range of random floats,
/// (b) a sparse gradient with 90% zeros, (c) 1 M sorted keys with power-law gaps and (d) the same
/// key list again through the key cache. MB/s count the decoded (raw) bytes. C memcpy over the
/// same byte count, interleaved, is the yardstick of "decode at memory speed".
/// </summary>
public sealed class CodecBench : IBenchSuite
{
    public string Name => "codec";

    public string Description => "wire codec: value and key encode/decode (MB/s), compression ratios, key cache";

    public (IReadOnlyList<BenchResult> Results, Dictionary<string, object> Config) Run(Arguments args, bool quick, TextWriter log)
    {
        int sizeMiB = args.Int("size-mib", quick ? 32 : 64, 1, 1024);
        int keyCount = args.Int("keys", 1 << 20, 2, 1 << 24);
        double gapScale = args.Double("gap-scale", 8, 1, 1e12);
        double gapAlpha = args.Double("gap-alpha", 1.1, 0.1, 100);
        int repetitions = args.Int("repetitions", quick ? 7 : 15, 1, 1000);
        args.EnsureAllUsed();
        PsfNative.EnsureAvailable();

        int count = sizeMiB * 1024 * 1024 / sizeof(float);
        var results = new List<BenchResult>();
        results.AddRange(DenseRange(count, repetitions));
        results.AddRange(SparseGradient(count, repetitions));
        ulong[] keys = PowerLawKeys(keyCount, gapScale, gapAlpha, seed: 13);
        results.AddRange(KeyLists(keys, repetitions));
        foreach (BenchResult r in results)
            log.WriteLine(JsonReport.Format(r));
        var config = new Dictionary<string, object>
        {
            ["size_mib"] = sizeMiB,
            ["values"] = count,
            ["keys"] = keyCount,
            ["key_gaps"] = $"max(1, floor(x_m * U^(-1/alpha))): Pareto with x_m = {gapScale}, alpha = {gapAlpha}, U uniform (0,1], seed 13",
            ["sparse_zero_fraction"] = 0.9,
            ["repetitions"] = repetitions,
            ["crc32c_hardware"] = Codec.Checksums.Crc32C.IsHardwareAccelerated,
            ["native_version"] = PsfNative.Version.ToString(),
        };
        return (results, config);
    }

    // (a) A dense range of random floats: raw values never compress, so this is the pure cost of
    // framing, validation and moving bytes.
    private static IEnumerable<BenchResult> DenseRange(int count, int repetitions)
    {
        float[] values = Floats(count, zeroFraction: 0, seed: 1);
        long rawBytes = 4L * count;
        using PinnedBuffer frame = FrameBufferPool.Shared.Rent(FrameLayout.MaxFrameLength(1, count));
        using var destination = NativeSlab.Allocate(rawBytes);
        using var source = NativeSlab.Allocate(rawBytes);
        var scratch = new CodecScratch();
        var header = new FrameHeader(MessageType.Push, 1, 1);
        int length = 0;

        void Encode()
        {
            var w = FrameWriter.Claim(frame.Span, header, scratch);
            w.WriteKeyRange(0, (ulong)count);
            w.WriteValues(values, ValueEncoding.Raw);
            length = w.Commit();
        }

        int segmentsLength = 0;
        void EncodeSegments()
        {
            var w = FrameWriter.Claim(frame.Span, header, scratch);
            w.WriteKeyRange(0, (ulong)count);
            w.AttachValues(values);
            w.CommitSegments(crc: false, out FrameSegments s);
            segmentsLength = s.Length;
        }

        // Decode = validate the frame, view the values in place, copy them out into the destination.
        void Decode()
        {
            Frame f = FrameReader.Read(frame.Span[..length], FrameLimits.Default);
            f.TryGetRawValues(out ReadOnlySpan<float> v);
            v.CopyTo(destination.AsSpan<float>(0, count));
        }

        int n = count;
        Encode();
        frame.Span.Slice(FrameLayout.HeaderSize + FrameLayout.RangeSize, (int)rawBytes).CopyTo(source.AsSpan<byte>(0, (int)rawBytes));
        double[] t = Measure.Interleaved(repetitions,
            Decode,
            () => PsfNative.ReferenceCopy(destination.AsSpan<byte>(0, n * 4), source.AsSpan<byte>(0, n * 4)),
            Encode,
            EncodeSegments);
        int crcLength = 0;
        double[] c = Measure.Interleaved(Math.Max(3, repetitions / 2),
            () =>
            {
                var w = FrameWriter.Claim(frame.Span, header, scratch);
                w.WriteKeyRange(0, (ulong)n);
                w.WriteValues(values, ValueEncoding.Raw);
                crcLength = w.Commit(crc: true);
            },
            () => FrameReader.Read(frame.Span[..crcLength], FrameLimits.Default));
        double Gbps(double s) => rawBytes / s / 1e9;
        double MBps(double s) => rawBytes / s / 1e6;
        yield return new BenchResult("decode_raw", Gbps(t[0]), "GB/s")
        {
            Extra =
            {
                ["bytes"] = rawBytes,
                ["method"] = "validate the frame, view the float32 section in place (zero copy), then copy it out into a destination array: the copy makes the comparison with memcpy fair",
            },
        };
        yield return new BenchResult("memcpy_c", Gbps(t[1]), "GB/s") { Extra = { ["bytes"] = rawBytes } };
        yield return new BenchResult("decode_raw_vs_memcpy", t[1] / t[0], "ratio");
        yield return new BenchResult("encode_raw", MBps(t[2]), "MB/s") { Extra = { ["frame_bytes"] = length, ["method"] = "values copied into the frame buffer" } };
        yield return new BenchResult("encode_raw_segments", MBps(t[3]), "MB/s") { Extra = { ["frame_bytes"] = segmentsLength, ["method"] = "scatter-gather: header + range written, values left in place" } };
        yield return new BenchResult("encode_raw_crc", MBps(c[0]), "MB/s") { Extra = { ["crc32c"] = true } };
        yield return new BenchResult("decode_raw_crc_check", MBps(c[1]), "MB/s") { Extra = { ["crc32c"] = true, ["method"] = "validation including the CRC over every byte, no copy" } };
        yield return new BenchResult("dense_ratio", (double)rawBytes / length, "ratio") { Extra = { ["frame_bytes"] = length } };

        // The same dense floats with LZ4 asked for: it cannot save 1/8, so the section stays raw.
        int lz4Length = 0;
        double[] z = Measure.Interleaved(Math.Max(3, repetitions / 2), () =>
        {
            var w = FrameWriter.Claim(frame.Span, header, scratch);
            w.WriteKeyRange(0, (ulong)n);
            w.WriteValues(values, ValueEncoding.Compressed);
            lz4Length = w.Commit();
        });
        yield return new BenchResult("encode_dense_lz4_attempt", MBps(z[0]), "MB/s") { Extra = { ["frame_bytes"] = lz4Length, ["kept_raw"] = lz4Length >= rawBytes } };

        // fp16 with error feedback (the worker side) and its decode back to float32.
        var feedback = new ErrorFeedback(n);
        var fp16 = new ValueEncoding(ValueQuantization.Fp16);
        int fp16Length = 0;
        double[] q = Measure.Interleaved(Math.Max(3, repetitions / 2),
            () =>
            {
                var w = FrameWriter.Claim(frame.Span, header, scratch);
                w.WriteKeyRange(0, (ulong)n);
                w.WriteValues(values, fp16, feedback.Residual);
                fp16Length = w.Commit();
            },
            () => FrameDecoder.DecodeValues(FrameReader.Read(frame.Span[..fp16Length], FrameLimits.Default), destination.AsSpan<float>(0, n)));
        yield return new BenchResult("encode_fp16_feedback", MBps(q[0]), "MB/s") { Extra = { ["frame_bytes"] = fp16Length } };
        yield return new BenchResult("decode_fp16", MBps(q[1]), "MB/s");
    }

    // (b) A sparse gradient with 90% zeros: LZ4 on the dense section, and the zero filter sending
    // only the non-zero entries with their keys.
    private static IEnumerable<BenchResult> SparseGradient(int count, int repetitions)
    {
        float[] values = Floats(count, zeroFraction: 0.9, seed: 2);
        long rawBytes = 4L * count;
        using PinnedBuffer frame = FrameBufferPool.Shared.Rent(FrameLayout.MaxFrameLength(count, count));
        var scratch = new CodecScratch();
        var destination = new float[count];
        var header = new FrameHeader(MessageType.Push, 1, 1);
        int length = 0;
        int n = count;

        void Encode()
        {
            var w = FrameWriter.Claim(frame.Span, header, scratch);
            w.WriteKeyRange(0, (ulong)n);
            w.WriteValues(values, ValueEncoding.Compressed);
            length = w.Commit();
        }

        void Decode()
        {
            Frame f = FrameReader.Read(frame.Span[..length], FrameLimits.Default);
            FrameDecoder.DecodeValues(f, destination);
        }

        Encode();
        double[] t = Measure.Interleaved(repetitions, Encode, Decode);
        double MBps(double s) => rawBytes / s / 1e6;
        yield return new BenchResult("sparse_lz4_encode", MBps(t[0]), "MB/s");
        yield return new BenchResult("sparse_lz4_decode", MBps(t[1]), "MB/s");
        yield return new BenchResult("sparse_lz4_ratio", (double)rawBytes / length, "ratio") { Extra = { ["frame_bytes"] = length, ["zero_fraction"] = 0.9 } };

        // Zero filter: keys of the non-zero entries (smallest key encoding) and their values.
        var keys = new ulong[count];
        var kept = new float[count];
        int filteredLength = 0;
        var decoder = new FrameDecoder();
        var keysOut = new ulong[count];
        void FilterEncode()
        {
            for (int i = 0; i < keys.Length; i++)
                keys[i] = (ulong)i;
            values.CopyTo(kept, 0);
            int m = ZeroFilter.Instance.Apply(keys, kept, 1);
            var w = FrameWriter.Claim(frame.Span, header, scratch);
            w.WriteKeys(keys.AsSpan(0, m));
            w.WriteValues(kept.AsSpan(0, m), ValueEncoding.Raw);
            filteredLength = w.Commit();
        }

        void FilterDecode()
        {
            Frame f = decoder.Read(frame.Span[..filteredLength]);
            decoder.DecodeKeys(f, keysOut, null, out _);
            FrameDecoder.DecodeValues(f, destination);
        }

        FilterEncode();
        double[] u = Measure.Interleaved(Math.Max(3, repetitions / 2), FilterEncode, FilterDecode);
        yield return new BenchResult("sparse_filtered_encode", MBps(u[0]), "MB/s") { Extra = { ["method"] = "zero filter, then keys + values of the non-zero entries" } };
        yield return new BenchResult("sparse_filtered_decode", MBps(u[1]), "MB/s") { Extra = { ["method"] = "MB/s of the dense gradient the filtered frame stands for" } };
        yield return new BenchResult("sparse_filtered_ratio", (double)rawBytes / filteredLength, "ratio") { Extra = { ["frame_bytes"] = filteredLength } };
    }

    // (c) and (d): a sorted key list encoded in full, then again through the sender's and the
    // receiver's key caches.
    private static IEnumerable<BenchResult> KeyLists(ulong[] keys, int repetitions)
    {
        long rawBytes = 8L * keys.Length;
        using PinnedBuffer frame = FrameBufferPool.Shared.Rent(FrameLayout.MaxFrameLength(keys.Length, 0));
        var scratch = new CodecScratch();
        var decoder = new FrameDecoder();
        var keysOut = new ulong[keys.Length];
        var header = new FrameHeader(MessageType.Pull, 1, 1);
        int length = 0;

        void Encode()
        {
            var w = FrameWriter.Claim(frame.Span, header, scratch);
            w.WriteKeys(keys);
            length = w.Commit();
        }

        void Decode()
        {
            Frame f = decoder.Read(frame.Span[..length]);
            decoder.DecodeKeys(f, keysOut, null, out _);
        }

        Encode();
        FrameFlags mode = decoder.Read(frame.Span[..length]).Flags & FrameFlags.KeyModes;
        double[] t = Measure.Interleaved(repetitions, Encode, Decode);
        double MBps(double s) => rawBytes / s / 1e6;
        int keyBytes = length - FrameLayout.HeaderSize;
        yield return new BenchResult("keys_encode", MBps(t[0]), "MB/s") { Extra = { ["keys"] = keys.Length, ["mode"] = mode.ToString() } };
        yield return new BenchResult("keys_decode", MBps(t[1]), "MB/s") { Extra = { ["keys"] = keys.Length } };
        yield return new BenchResult("keys_bytes_per_key", (double)keyBytes / keys.Length, "bytes")
        {
            Extra =
            {
                ["keys"] = keys.Length,
                ["section_bytes"] = keyBytes,
                ["mode"] = mode.ToString(),
                ["varint_bytes_per_key"] = (double)DeltaVarintKeys.Measure(keys) / keys.Length,
            },
        };
        yield return new BenchResult("keys_ratio", (double)rawBytes / keyBytes, "ratio");

        // (d) The same list again: the sender's cache says the peer has it, so 16 bytes travel.
        var senderCache = new KeyCache(256L << 20);
        var receiverCache = new KeyCache(256L << 20);
        var first = FrameWriter.Claim(frame.Span, header, scratch);
        first.WriteKeys(keys, KeyEncodingPolicy.Smallest, senderCache);
        int firstLength = first.Commit();
        decoder.DecodeKeys(decoder.Read(frame.Span[..firstLength]), keysOut, receiverCache, out _);
        int cachedLength = 0;
        KeyResolution resolution = KeyResolution.None;
        double[] c = Measure.Interleaved(repetitions,
            () =>
            {
                var w = FrameWriter.Claim(frame.Span, header, scratch);
                w.WriteKeys(keys, KeyEncodingPolicy.Smallest, senderCache);
                cachedLength = w.Commit();
            },
            () => resolution = decoder.DecodeKeys(decoder.Read(frame.Span[..cachedLength]), keysOut, receiverCache, out _));
        yield return new BenchResult("keys_cached_bytes", cachedLength - FrameLayout.HeaderSize, "bytes")
        {
            Extra = { ["frame_bytes"] = cachedLength, ["keys"] = keys.Length, ["resolution"] = resolution.ToString(), ["method"] = "keys section of a repeated list: its 128-bit signature" },
        };
        yield return new BenchResult("keys_cached_encode", keys.Length / c[0] / 1e6, "M keys/s") { Extra = { ["method"] = "sortedness check + signature of the list + cache lookup" } };
        yield return new BenchResult("keys_cached_decode", keys.Length / c[1] / 1e6, "M keys/s") { Extra = { ["method"] = "cache lookup by signature" } };
    }

    private static ulong[] PowerLawKeys(int count, double scale, double alpha, int seed)
    {
        var rng = new Random(seed);
        var keys = new ulong[count];
        ulong k = 0;
        for (int i = 0; i < count; i++)
        {
            double u = 1.0 - rng.NextDouble();
            k += (ulong)Math.Clamp(Math.Floor(scale * Math.Pow(u, -1.0 / alpha)), 1, 1e12);
            keys[i] = k;
        }
        return keys;
    }

    private static float[] Floats(int count, double zeroFraction, int seed)
    {
        var rng = new Random(seed);
        var v = new float[count];
        for (int i = 0; i < count; i++)
            v[i] = rng.NextDouble() < zeroFraction ? 0f : (float)((rng.NextDouble() * 2) - 1) * 1e-2f;
        return v;
    }
}
