using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Codec.Keys;
using ParameterServer.Fast.Codec.Values;

namespace ParameterServer.Fast.Codec.Tests.Keys;

public class KeyCacheTests
{
    [Test]
    public void RemembersAndFindsAListBySignatureAndCount()
    {
        var cache = new KeyCache(1 << 20);
        ulong[] keys = [1, 5, 9];
        KeySignature s = cache.Remember(keys);
        Assert.That(cache.TryGet(s, 3, out ReadOnlySpan<ulong> found), Is.True);
        Assert.That(found.SequenceEqual(keys));
        Assert.That(cache.TryGet(s, 4, out _), Is.False, "count must match");
        Assert.That(cache.TryGet(default, 3, out _), Is.False);
        Assert.That((cache.Hits, cache.Misses), Is.EqualTo((1L, 2L)));
    }

    [Test]
    public void EvictsTheLeastRecentlyUsedWithinItsBudget()
    {
        // Budget for about three lists of 1000 keys (8 KB + overhead each).
        var cache = new KeyCache(3 * 8200);
        var rng = new Random(2);
        ulong[][] lists = [.. Enumerable.Range(0, 5).Select(_ => TestData.PowerLawKeys(rng, 1000))];
        KeySignature[] sigs = [.. lists.Select(l => cache.Remember(l)).Take(3)];
        Assert.That(cache.Count, Is.EqualTo(3));
        Assert.That(cache.TryGet(sigs[0], 1000, out _), Is.True); // 0 becomes most recent; 1 is oldest
        KeySignature s3 = cache.Remember(lists[3]);
        Assert.That(cache.TryGet(sigs[1], 1000, out _), Is.False, "the least recently used went first");
        Assert.That(cache.TryGet(sigs[0], 1000, out _), Is.True);
        Assert.That(cache.TryGet(s3, 1000, out _), Is.True);
        Assert.That(cache.BytesHeld, Is.LessThanOrEqualTo(cache.CapacityBytes));
        Assert.That(cache.Evictions, Is.EqualTo(1));
        Assert.That(cache.Remember(KeySignature.Compute(new ulong[5000]), new ulong[5000]), Is.False, "larger than the budget");
    }

    [Test]
    public void ManyListsThroughASmallCacheStayWithinBudgetAndNeverReturnWrongKeys()
    {
        var cache = new KeyCache(64 * 1024);
        var rng = new Random(9);
        ulong[][] lists = [.. Enumerable.Range(0, 200).Select(_ => TestData.PowerLawKeys(rng, rng.Next(1, 2000)))];
        for (int round = 0; round < 2000; round++)
        {
            ulong[] l = lists[rng.Next(lists.Length)];
            KeySignature s = KeySignature.Compute(l);
            if (cache.TryGet(s, l.Length, out ReadOnlySpan<ulong> found))
                Assert.That(found.SequenceEqual(l));
            else
                cache.Remember(s, l);
            Assert.That(cache.BytesHeld, Is.LessThanOrEqualTo(cache.CapacityBytes));
        }
        Assert.That(cache.Evictions, Is.GreaterThan(0));
        Assert.That(cache.Hits, Is.GreaterThan(0));
    }

    [Test]
    public void ARepeatedPushSendsOnlyTheSignatureAndAMissAsksForTheList()
    {
        ulong[] keys = TestData.PowerLawKeys(new Random(4), 100_000);
        float[] values = TestData.Floats(new Random(5), keys.Length);
        var senderCache = new KeyCache();
        var receiverCache = new KeyCache();
        var decoder = new FrameDecoder();
        var scratch = new CodecScratch();
        var buffer = new byte[FrameLayout.MaxFrameLength(keys.Length, values.Length)];
        var keysOut = new ulong[keys.Length];
        var valuesOut = new float[values.Length];

        int Push(ulong request)
        {
            var w = FrameWriter.Claim(buffer, new FrameHeader(MessageType.Push, 1, 2, request), scratch);
            w.WriteKeys(keys, KeyEncodingPolicy.Smallest, senderCache);
            w.WriteValues(values, ValueEncoding.Raw);
            return w.Commit();
        }

        int first = Push(1);
        Frame f1 = decoder.Read(buffer.AsSpan(0, first));
        Assert.That(f1.Flags.HasFlag(FrameFlags.KeysRemember), Is.True);
        Assert.That(decoder.DecodeKeys(f1, keysOut, receiverCache, out _), Is.EqualTo(KeyResolution.Decoded));

        int second = Push(2);
        Frame f2 = decoder.Read(buffer.AsSpan(0, second));
        Assert.That(f2.Keys.Length, Is.EqualTo(16));
        Assert.That(second - (values.Length * 4), Is.LessThan(FrameLayout.HeaderSize + 64));
        Assert.That(decoder.DecodeKeys(f2, keysOut, receiverCache, out ReadOnlySpan<ulong> hit), Is.EqualTo(KeyResolution.CacheHit));
        Assert.That(hit.SequenceEqual(keys));

        // The receiver restarts (cache lost): the signature alone is a miss, answered with a request.
        receiverCache.Clear();
        int third = Push(3);
        Frame f3 = decoder.Read(buffer.AsSpan(0, third));
        Assert.That(decoder.DecodeKeys(f3, keysOut, receiverCache, out _), Is.EqualTo(KeyResolution.CacheMiss));
        var request = new byte[128];
        var r = FrameWriter.Claim(request, new FrameHeader(MessageType.KeyListRequest, 1, 9, 3));
        r.WriteCachedKeys(f3.KeySignature, f3.KeyCount);
        Frame asked = decoder.Read(request.AsSpan(0, r.Commit()));
        Assert.That(asked.Type, Is.EqualTo(MessageType.KeyListRequest));
        Assert.That(asked.KeySignature, Is.EqualTo(KeySignature.Compute(keys)));

        // The sender forgets what the peer lost and resends in full.
        senderCache.Forget(asked.KeySignature);
        int fourth = Push(3);
        Frame f4 = decoder.Read(buffer.AsSpan(0, fourth));
        Assert.That(decoder.DecodeKeys(f4, keysOut, receiverCache, out ReadOnlySpan<ulong> again), Is.EqualTo(KeyResolution.Decoded));
        Assert.That(again.SequenceEqual(keys));
        FrameDecoder.DecodeValues(f4, valuesOut);
        Assert.That(valuesOut, Is.EqualTo(values));
    }
}
