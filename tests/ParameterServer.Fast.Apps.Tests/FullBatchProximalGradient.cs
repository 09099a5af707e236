using ParameterServer.Fast.Apps.Data;

namespace ParameterServer.Fast.Apps.Tests;

/// <summary>
/// The reference optimum of (Σ log-loss + λ₁‖w‖₁ + λ₂/2‖w‖²)/N: exact full-batch proximal
/// gradient (ISTA) in plain scalar double code, sharing nothing with the code under test. The step
/// 1/L uses L = ¼·(max row Σ|x|)·(max column Σ|x|) ≥ ¼‖X‖₂², so every step decreases the objective.
/// </summary>
internal static class FullBatchProximalGradient
{
    public static double Minimum(SparseDataset data, double l1, double l2, int maxIterations = 200_000)
    {
        var index = new Dictionary<ulong, int>();
        foreach (ulong k in data.Keys)
            index.TryAdd(k, index.Count);
        int d = index.Count, n = data.Count;
        var columnSums = new double[d];
        double maxRow = 0;
        for (int i = 0; i < n; i++)
        {
            double row = 0;
            for (int e = data.Offsets[i]; e < data.Offsets[i + 1]; e++)
            {
                row += Math.Abs(data.Values[e]);
                columnSums[index[data.Keys[e]]] += Math.Abs(data.Values[e]);
            }
            maxRow = Math.Max(maxRow, row);
        }
        double step = 1 / (0.25 * maxRow * columnSums.Max());
        var w = new double[d];
        var gradient = new double[d];
        double previous = Objective(data, index, w, l1, l2);
        for (int it = 0; it < maxIterations; it++)
        {
            Array.Clear(gradient);
            for (int i = 0; i < n; i++)
            {
                double margin = 0;
                for (int e = data.Offsets[i]; e < data.Offsets[i + 1]; e++)
                    margin += w[index[data.Keys[e]]] * data.Values[e];
                double residual = (1 / (1 + Math.Exp(-margin))) - data.Labels[i];
                for (int e = data.Offsets[i]; e < data.Offsets[i + 1]; e++)
                    gradient[index[data.Keys[e]]] += residual * data.Values[e];
            }
            for (int j = 0; j < d; j++)
            {
                double x = w[j] - (step * gradient[j]);
                w[j] = Math.Sign(x) * Math.Max(Math.Abs(x) - (step * l1), 0) / (1 + (step * l2));
            }
            if (it % 100 == 99)
            {
                double current = Objective(data, index, w, l1, l2);
                if (previous - current < 1e-12)
                    return current;
                previous = current;
            }
        }
        throw new InvalidOperationException($"the reference did not converge in {maxIterations} iterations");
    }

    private static double Objective(SparseDataset data, Dictionary<ulong, int> index, double[] w, double l1, double l2)
    {
        double loss = 0;
        for (int i = 0; i < data.Count; i++)
        {
            double margin = 0;
            for (int e = data.Offsets[i]; e < data.Offsets[i + 1]; e++)
                margin += w[index[data.Keys[e]]] * data.Values[e];
            double z = data.Labels[i] > 0.5f ? -margin : margin;
            loss += Math.Max(z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z)));
        }
        return (loss + (l1 * w.Sum(Math.Abs)) + (l2 / 2 * w.Sum(v => v * v))) / data.Count;
    }
}
