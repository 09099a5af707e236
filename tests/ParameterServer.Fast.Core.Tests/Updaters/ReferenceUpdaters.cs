using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Core.Tests.Updaters;

/// <summary>
/// The update rules written again, independently and in double precision, straight from the
/// published formulas. The optimised rules must agree with these to float rounding.
/// </summary>
internal sealed class ReferenceUpdater(UpdaterKind kind, UpdaterSettings p, int length)
{
    public readonly double[] W = new double[length];
    private readonly double[] _a = new double[length]; // Adagrad Σg², FTRL z, Adam m
    private readonly double[] _b = new double[length]; // FTRL n, Adam v
    private readonly int[] _t = new int[length];       // Adam step count

    public void Step(int i, double g)
    {
        switch (kind)
        {
            case UpdaterKind.Sum:
                W[i] += g;
                break;
            case UpdaterKind.Sgd:
                W[i] -= p.LearningRate * (g + (p.L2 * W[i]));
                break;
            case UpdaterKind.Adagrad:
                _a[i] += g * g;
                W[i] -= p.LearningRate * g / (Math.Sqrt(_a[i]) + p.Epsilon);
                break;
            case UpdaterKind.Ftrl:
            {
                // McMahan et al. 2013, Algorithm 1 (per coordinate).
                double sigma = (Math.Sqrt(_b[i] + (g * g)) - Math.Sqrt(_b[i])) / p.LearningRate;
                _a[i] += g - (sigma * W[i]);
                _b[i] += g * g;
                double z = _a[i];
                W[i] = Math.Abs(z) <= p.L1 ? 0 : -(z - (Math.Sign(z) * p.L1)) / (((p.Beta + Math.Sqrt(_b[i])) / p.LearningRate) + p.L2);
                break;
            }
            case UpdaterKind.Adam:
            {
                // Kingma and Ba 2015, Algorithm 1.
                int t = ++_t[i];
                _a[i] = (p.Beta1 * _a[i]) + ((1 - p.Beta1) * g);
                _b[i] = (p.Beta2 * _b[i]) + ((1 - p.Beta2) * g * g);
                double mHat = _a[i] / (1 - Math.Pow(p.Beta1, t));
                double vHat = _b[i] / (1 - Math.Pow(p.Beta2, t));
                W[i] -= p.LearningRate * mHat / (Math.Sqrt(vHat) + p.Epsilon);
                break;
            }
        }
    }
}
