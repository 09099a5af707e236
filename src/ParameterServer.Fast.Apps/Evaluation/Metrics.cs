namespace ParameterServer.Fast.Apps.Evaluation;

/// <summary>Binary classification metrics from predicted probabilities.</summary>
public static class Metrics
{
    public static double LogLoss(ReadOnlySpan<double> p, ReadOnlySpan<float> labels)
    {
        double sum = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double q = Math.Clamp(p[i], 1e-12, 1 - 1e-12);
            sum -= labels[i] > 0.5f ? Math.Log(q) : Math.Log(1 - q);
        }
        return p.Length == 0 ? double.NaN : sum / p.Length;
    }

    public static double Accuracy(ReadOnlySpan<double> p, ReadOnlySpan<float> labels)
    {
        int right = 0;
        for (int i = 0; i < p.Length; i++)
            right += (p[i] >= 0.5) == (labels[i] > 0.5f) ? 1 : 0;
        return p.Length == 0 ? double.NaN : (double)right / p.Length;
    }

    /// <summary>Area under the ROC curve: the probability a random positive outranks a random negative (ties count half).</summary>
    public static double Auc(ReadOnlySpan<double> p, ReadOnlySpan<float> labels)
    {
        int n = p.Length;
        int[] order = [.. Enumerable.Range(0, n)];
        double[] scores = p.ToArray();
        Array.Sort(scores, order);
        double rankSum = 0;
        long positives = 0;
        int i = 0;
        while (i < n)
        {
            int j = i;
            while (j + 1 < n && scores[j + 1] == scores[i])
                j++;
            double averageRank = (i + j + 2) / 2.0;
            for (int k = i; k <= j; k++)
            {
                if (labels[order[k]] > 0.5f)
                {
                    rankSum += averageRank;
                    positives++;
                }
            }
            i = j + 1;
        }
        long negatives = n - positives;
        if (positives == 0 || negatives == 0)
            return double.NaN;
        return (rankSum - (positives * (positives + 1) / 2.0)) / (positives * (double)negatives);
    }
}
