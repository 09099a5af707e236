using BenchmarkDotNet.Attributes;
using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Apps.SparseLR;

namespace ParameterServer.Fast.Benchmarks;

/// <summary>
/// One block's work of block proximal gradient on one worker's shard (300,000 generated click-log
/// examples: a worker's half of `psf bench apps --quick`): the fused gradient and curvature the
/// single-process baseline computes (the Baseline) against its two halves. With τ = 0 a worker
/// computes the curvature half for the next block while the servers answer the current round, so
/// only the gradient half and applying the answer stay between two rounds.
/// </summary>
[MemoryDiagnoser]
public class BlockGradientBenchmarks
{
    private LogisticShard _shard = null!;
    private int[] _features = [];
    private double[] _gradient = [];
    private double[] _curvature = [];

    [GlobalSetup]
    public void Setup()
    {
        SparseDataset data = new ClickLogGenerator { Examples = 300_000, Seed = 1 }.Generate();
        _shard = new LogisticShard(ShardColumns.Build(data));
        var active = new ActiveFeatures(new FeatureBlocks(8).Split(_shard.Data.Keys));
        active.Screen(FeatureMass.Screened(FeatureMass.Of(_shard.Data), 5f));
        _features = active.Of(0).ToArray();
        // Margins away from 0, as after a few rounds: every other block's features at small weights.
        int[] other = active.Of(1).ToArray();
        _shard.SetWeights(other, [.. other.Select(j => (j % 5 - 2) * 0.05f)]);
        _gradient = new double[_features.Length];
        _curvature = new double[_features.Length];
    }

    [Benchmark(Baseline = true)]
    public double Fused()
    {
        _shard.BlockGradient(_features, _features, _gradient, _curvature);
        return _gradient[0] + _curvature[0];
    }

    [Benchmark]
    public double CurvatureHalf()
    {
        _shard.BlockCurvature(_features, _features, _curvature);
        return _curvature[0];
    }

    [Benchmark]
    public double GradientHalf()
    {
        _shard.BlockGradientOnly(_features, _gradient);
        return _gradient[0];
    }
}
