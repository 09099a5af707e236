using ParameterServer.Fast.Apps.Data;

namespace ParameterServer.Fast.Apps.Tests;

/// <summary>
/// The reference optimum of (Σ log-loss + λ₁‖w‖₁ + λ₂/2‖w‖²)/N: exact full-batch proximal gradient,
/// accelerated (FISTA with backtracking, Beck and Teboulle 2009, restarted whenever the objective
/// would rise), in plain scalar double code sharing nothing with the code under test. It stops
/// when w meets the optimality conditions to 1e-6 (|∇ⱼ + λ₁ sign wⱼ| for wⱼ ≠ 0, |∇ⱼ| − λ₁ for
/// wⱼ = 0, in units of the summed loss) or when not even a plain step lowers the objective.
/// </summary>
internal static class FullBatchProximalGradient
{
    public static double Minimum(SparseDataset data, double l1, double l2, int maxIterations = 100_000)
    {
        var index = new Dictionary<ulong, int>();
        foreach (ulong k in data.Keys)
            index.TryAdd(k, index.Count);
        int[] column = [.. data.Keys.Select(k => index[k])];
        int d = index.Count;
        var w = new double[d];
        var previous = new double[d];
        var y = new double[d];
        var gradient = new double[d];
        var next = new double[d];
        double step = 1, momentum = 1, objective = Objective(data, column, w, l1, l2);
        for (int it = 0; it < maxIterations; it++)
        {
            // The proximal gradient step from y, backtracking until the quadratic model bounds the loss.
            double smoothAtY = Smooth(data, column, y, gradient, l2);
            while (true)
            {
                double model = smoothAtY;
                for (int j = 0; j < d; j++)
                {
                    double x = y[j] - (step * gradient[j]);
                    next[j] = Math.Sign(x) * Math.Max(Math.Abs(x) - (step * l1), 0);
                    double diff = next[j] - y[j];
                    model += (gradient[j] * diff) + (diff * diff / (2 * step));
                }
                if (Smooth(data, column, next, null, l2) <= model + 1e-12)
                    break;
                step /= 2;
            }
            double nextObjective = Objective(data, column, next, l1, l2);
            if (nextObjective > objective)
            {
                // Even a plain step from w cannot lower the objective: it is minimal to rounding.
                if (momentum == 1)
                    return objective / data.Count;
                // Adaptive restart (O'Donoghue and Candès 2015): drop the momentum, step from w.
                momentum = 1;
                Array.Copy(w, y, d);
                continue;
            }
            Array.Copy(w, previous, d);
            Array.Copy(next, w, d);
            objective = nextObjective;
            Smooth(data, column, w, gradient, l2);
            if (Violation(w, gradient, l1) < 1e-6)
                return objective / data.Count;
            double nextMomentum = (1 + Math.Sqrt(1 + (4 * momentum * momentum))) / 2;
            for (int j = 0; j < d; j++)
                y[j] = w[j] + ((momentum - 1) / nextMomentum * (w[j] - previous[j]));
            momentum = nextMomentum;
            step *= 1.2;
        }
        throw new InvalidOperationException($"the reference did not converge in {maxIterations} iterations");
    }

    private static double Objective(SparseDataset data, int[] column, double[] w, double l1, double l2) =>
        Smooth(data, column, w, null, l2) + (l1 * w.Sum(Math.Abs));

    private static double Violation(double[] w, double[] gradient, double l1)
    {
        double worst = 0;
        for (int j = 0; j < w.Length; j++)
            worst = Math.Max(worst, w[j] != 0 ? Math.Abs(gradient[j] + (l1 * Math.Sign(w[j]))) : Math.Abs(gradient[j]) - l1);
        return worst;
    }

    // Σ log-loss + λ₂/2‖w‖² at w, and its gradient when asked for.
    private static double Smooth(SparseDataset data, int[] column, double[] w, double[]? gradient, double l2)
    {
        if (gradient is not null)
        {
            for (int j = 0; j < w.Length; j++)
                gradient[j] = l2 * w[j];
        }
        double value = 0;
        for (int i = 0; i < data.Count; i++)
        {
            double margin = 0;
            for (int e = data.Offsets[i]; e < data.Offsets[i + 1]; e++)
                margin += w[column[e]] * data.Values[e];
            double z = data.Labels[i] > 0.5f ? -margin : margin;
            value += Math.Max(z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z)));
            if (gradient is not null)
            {
                double residual = (1 / (1 + Math.Exp(-margin))) - data.Labels[i];
                for (int e = data.Offsets[i]; e < data.Offsets[i + 1]; e++)
                    gradient[column[e]] += residual * data.Values[e];
            }
        }
        return value + (l2 / 2 * w.Sum(v => v * v));
    }
}
