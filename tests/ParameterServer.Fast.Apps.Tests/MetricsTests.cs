using ParameterServer.Fast.Apps.Evaluation;

namespace ParameterServer.Fast.Apps.Tests;

public class MetricsTests
{
    [Test]
    public void AucAgreesWithCountingEveryPair()
    {
        var rng = new Random(1);
        for (int trial = 0; trial < 50; trial++)
        {
            int n = rng.Next(2, 200);
            double[] p = [.. Enumerable.Range(0, n).Select(_ => Math.Round(rng.NextDouble(), 1))];
            float[] y = [.. Enumerable.Range(0, n).Select(_ => (float)rng.Next(2))];
            if (y.All(v => v == y[0]))
                continue;
            double wins = 0, pairs = 0;
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    if (y[i] == 1 && y[j] == 0)
                    {
                        pairs++;
                        wins += p[i] > p[j] ? 1 : p[i] == p[j] ? 0.5 : 0;
                    }
                }
            }
            Assert.That(Metrics.Auc(p, y), Is.EqualTo(wins / pairs).Within(1e-12));
        }
    }

    [Test]
    public void LogLossAndAccuracyOfKnownPredictions()
    {
        double[] p = [0.9, 0.2, 0.6];
        float[] y = [1, 0, 0];
        Assert.That(Metrics.Accuracy(p, y), Is.EqualTo(2.0 / 3));
        Assert.That(Metrics.LogLoss(p, y), Is.EqualTo(-(Math.Log(0.9) + Math.Log(0.8) + Math.Log(0.4)) / 3).Within(1e-12));
    }
}
