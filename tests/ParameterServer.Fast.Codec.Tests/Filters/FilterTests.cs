using ParameterServer.Fast.Codec.Filters;

namespace ParameterServer.Fast.Codec.Tests.Filters;

public class FilterTests
{
    [Test]
    public void ZeroFilterDropsRowsThatAreAllZero()
    {
        ulong[] keys = [1, 2, 3, 4];
        float[] values = [0, 0, 1, 0, -0f, 0, 0, 2];
        int n = ZeroFilter.Instance.Apply(keys, values, width: 2);
        Assert.That(n, Is.EqualTo(2));
        Assert.That(keys[..n], Is.EqualTo(new ulong[] { 2, 4 }));
        Assert.That(values[..4], Is.EqualTo(new float[] { 1, 0, 0, 2 }));
    }

    [Test]
    public void SignificantlyModifiedFilterCarriesSmallChangesUntilTheyMatter()
    {
        var filter = new SignificantlyModifiedFilter(threshold: 1f);
        var rng = new Random(7);
        var pushed = new double[50];
        var arrived = new double[50];
        ulong[] all = [.. Enumerable.Range(0, 50).Select(i => (ulong)i)];
        int sentEntries = 0;
        for (int round = 0; round < 200; round++)
        {
            ulong[] keys = [.. all];
            float[] values = [.. keys.Select(_ => (float)((rng.NextDouble() - 0.5) * 0.4))];
            for (int i = 0; i < keys.Length; i++)
                pushed[keys[i]] += values[i];
            int n = filter.Apply(keys, values, 1);
            sentEntries += n;
            for (int i = 0; i < n; i++)
                arrived[keys[i]] += values[i];
        }
        Assert.That(sentEntries, Is.LessThan(200 * 50 / 4), "most small changes are held back");
        for (int k = 0; k < 50; k++)
        {
            double carried = filter.Carried((ulong)k)[0];
            Assert.That(arrived[k] + carried, Is.EqualTo(pushed[k]).Within(1e-3), $"key {k}: nothing is lost");
            Assert.That(Math.Abs(carried), Is.LessThanOrEqualTo(1f));
        }
    }

    [Test]
    public void KktFilterDropsInactiveCoordinatesAndFiltersCompose()
    {
        var weights = new Dictionary<ulong, float> { [1] = 0f, [2] = 0.5f, [3] = 0f, [4] = 0f };
        var kkt = new KktFilter(new L1KktCondition(k => weights[k], lambda: 0.1f));
        var chain = new FilterChain(kkt, ZeroFilter.Instance);
        ulong[] keys = [1, 2, 3, 4];
        float[] values = [0.05f, 0.01f, 0.3f, 0f];
        int n = chain.Apply(keys, values, 1);
        // 1: w = 0, |g| ≤ λ → inactive. 2: w ≠ 0 → kept. 3: |g| > λ → kept. 4: inactive (and zero).
        Assert.That(keys[..n], Is.EqualTo(new ulong[] { 2, 3 }));
        Assert.That(values[..n], Is.EqualTo(new[] { 0.01f, 0.3f }));
    }
}
