using System.Diagnostics;
using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Codec.Filters;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;
using ClusterConsistency = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Apps.SparseLR;

/// <summary>
/// A worker of the paper's delayed block proximal gradient (Li et al., OSDI 2014, §5.1, Algorithm 3).
/// Iteration t updates block t mod B: the worker computes its shard's gradient and curvature bound
/// for the block's active features and pushes them as round t + 1; the servers sum the workers'
/// shares and take the proximal step (<see cref="UpdaterKind.BlockProximal"/>). The round's pull
/// goes out at once; the servers answer it when every worker has pushed the round (sequential
/// consistency at the round's clock), so the weights it brings are final. The worker applies
/// answers to its margins as they arrive and runs ahead of unanswered rounds by at most τ
/// (--max-delay, bounded delay: iteration t waits for the round of iteration t − τ − 1), counting
/// the rounds it runs ahead of in its curvature bound. With τ = 0 it computes the next block's
/// curvature (about 5/6 of a block's computing: 34 of 41 ms on 300,000 examples) while the servers
/// answer the current round, so only the gradient waits for the answer. After each answer the KKT filter drops
/// features that stay zero; key lists repeat from pass to pass, so with key caching they travel
/// as signatures.
/// </summary>
public static class BlockProximalWorker
{
    public const string TableName = "lr-block-proximal";

    /// <summary>The barrier all workers pass before training, so the seconds of their traces share an origin.</summary>
    private const uint StartBarrier = 2;
    private const uint EndBarrier = 3;
    /// <summary>Every worker's feature masses are in.</summary>
    private const uint MassBarrier = 4;

    public static TableSpec WeightsSpec(SparseLROptions o) =>
        TableSpec.Sparse(TableName, BlockRound.Width, UpdaterKind.BlockProximal) with
        {
            Settings = new UpdaterSettings(LearningRate: 1f, L1: o.L1, L2: o.L2),
            MaxRows = 1 << 26,
        };

    public static async Task<SparseLRResult> RunAsync(WorkerClient client, SparseLROptions o, CancellationToken cancellationToken)
    {
        o.Validate();
        TableHandle table = await client.DeclareTableAsync(WeightsSpec(o), cancellationToken).ConfigureAwait(false);
        (SparseDataset train, SparseDataset test) = o.Data.Load();
        SparseDataset shardData = train.Shard(client.Rank, client.Workers);
        var shard = new LogisticShard(ShardColumns.Build(shardData));
        var active = new ActiveFeatures(new FeatureBlocks(o.Blocks).Split(shard.Data.Keys));
        bool[] owned = FeatureOwnership.Owned(train, client.Rank, client.Workers, shard.Data.Keys);
        // The KKT condition always shapes the curvature; o.KktFilter decides whether inactive features still travel.
        var kkt = new KktFilter(new ProximalKktCondition(key => shard.Weights[shard.Data.IndexOf(key)], o.L1));
        long first = client.Clock;
        if (o.KktFilter)
            await ScreenAsync(client, shard, active, o.L1, pushMasses: first == 0, cancellationToken).ConfigureAwait(false);
        if (first > 0)
            await CatchUpAsync(client, table, shard, active, kkt, cancellationToken).ConfigureAwait(false);
        await client.BarrierAsync(StartBarrier, cancellationToken).ConfigureAwait(false);

        var run = new WorkerRun(client, table, o, shard, active, kkt, owned, train.Count, cancellationToken);
        await run.TrainAsync(first).ConfigureAwait(false);
        await client.FinishIterationsAsync().ConfigureAwait(false);
        await client.BarrierAsync(EndBarrier, cancellationToken).ConfigureAwait(false);
        var result = new SparseLRResult
        {
            Worker = client.Rank, Iterations = run.Iterations, Examples = run.Iterations / o.Blocks * shardData.Count,
            ComputeSeconds = run.ComputeSeconds, WaitSeconds = run.WaitSeconds, BytesSent = client.BytesSent,
            Trace = run.Trace, ActiveFeatures = active.Count,
        };
        if (client.Rank == 0)
            result = await SparseLogisticRegression.EvaluateAsync(client, table, o, train, test, result, cancellationToken).ConfigureAwait(false);
        return result;
    }

    // The masses of the features over all shards, summed by the servers, screen out those that can
    // never become nonzero (a replacement worker's predecessor already pushed the shard's masses).
    private static async Task ScreenAsync(WorkerClient client, LogisticShard shard, ActiveFeatures active, float l1, bool pushMasses, CancellationToken cancellationToken)
    {
        TableHandle masses = await client.DeclareTableAsync(FeatureMass.Spec, cancellationToken).ConfigureAwait(false);
        ulong[] keys = shard.Data.Keys;
        if (pushMasses)
            await client.PushAsync(masses, keys, FeatureMass.Of(shard.Data), cancellationToken).ConfigureAwait(false);
        await client.BarrierAsync(MassBarrier, cancellationToken).ConfigureAwait(false);
        var total = new float[keys.Length];
        await client.PullAsync(masses, keys, total, ClusterConsistency.Eventual, cancellationToken).ConfigureAwait(false);
        active.Screen(FeatureMass.Screened(total, l1));
    }

    // A replacement worker starts where the others are: the servers' weights give its margins.
    private static async Task CatchUpAsync(WorkerClient client, TableHandle table, LogisticShard shard, ActiveFeatures active, KktFilter kkt, CancellationToken cancellationToken)
    {
        var round = new BlockRound();
        for (int b = 0; b < active.Blocks; b++)
        {
            round.Compute(shard, active, b, 0, activeOnly: false);
            await client.PullAsync(table, round.Keys, round.Rows, ClusterConsistency.Eventual, cancellationToken).ConfigureAwait(false);
            round.Apply(shard, active, kkt);
        }
    }

    /// <summary>The training loop of one worker, with its clocks and trace.</summary>
    private sealed class WorkerRun(WorkerClient client, TableHandle table, SparseLROptions o, LogisticShard shard, ActiveFeatures active,
        KktFilter kkt, bool[] owned, int trainExamples, CancellationToken cancellationToken)
    {
        private readonly Queue<(BlockRound Round, Task Pull)> _inFlight = new();
        private readonly Stack<BlockRound> _spare = new();
        private readonly long _started = Stopwatch.GetTimestamp();
        // A block's next round waits for its previous one, whatever τ: the KKT filter must have
        // judged the last round's rows before the block's features are chosen again.
        private readonly long _lag = Math.Min(o.MaxDelay, o.Blocks - 1);

        public long Iterations { get; private set; }
        public double ComputeSeconds { get; private set; }
        public double WaitSeconds { get; private set; }
        public List<TracePoint> Trace { get; } = [];

        public async Task TrainAsync(long first)
        {
            int blocks = o.Blocks;
            long last = (long)o.Epochs * blocks;
            await ReportAsync((int)(first / blocks), first, Stopwatch.GetTimestamp()).ConfigureAwait(false);
            BlockRound? next = null;
            for (long t = first; t < last; t++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int block = (int)(t % blocks);
                int pass = (int)(t / blocks);
                // Apply what the servers have finished, oldest first; wait only for rounds older than τ.
                while (_inFlight.Count > 0 && (_inFlight.Peek().Pull.IsCompleted || _inFlight.Peek().Round.Round <= t - _lag))
                    await ApplyOldestAsync().ConfigureAwait(false);
                // A pass is reported once the rounds this iteration must see are in: with τ = 0 all of its own.
                // Its time is now; with τ = 0 its log loss is summed while the servers gather the next
                // round, since the margins do not move before that round is applied.
                (int Pass, long Iteration, long At)? report = block == 0 && t > first ? (pass, t, Stopwatch.GetTimestamp()) : null;
                if (report is { } due && _lag > 0)
                {
                    await ReportAsync(due.Pass, due.Iteration, due.At).ConfigureAwait(false);
                    report = null;
                }
                long t0 = Stopwatch.GetTimestamp();
                BlockRound round;
                if (next is not null)
                {
                    round = next;
                    next = null;
                    round.Finish(shard, t + 1);
                }
                else
                {
                    round = Take();
                    ResetIfDue(t);
                    round.Compute(shard, active, block, t + 1, o.KktFilter);
                }
                if (client.Rank == 1 && o.Straggler > TimeSpan.Zero)
                    Thread.Sleep(o.Straggler);
                long t1 = Stopwatch.GetTimestamp();
                ComputeSeconds += Seconds(t1 - t0);
                Task<Task> exchange = ExchangeAsync(round);
                if (_lag == 0 && blocks > 1 && t + 1 < last)
                {
                    // τ = 0: the next block's curvature needs only its active set, which this round
                    // cannot change (it judges its own block), so it is computed while the servers
                    // gather this round; the exchange goes on meanwhile from the thread pool.
                    long p0 = Stopwatch.GetTimestamp();
                    next = Take();
                    ResetIfDue(t + 1);
                    next.Prepare(shard, active, (int)((t + 1) % blocks), o.KktFilter);
                    ComputeSeconds += Seconds(Stopwatch.GetTimestamp() - p0);
                }
                if (report is { } late)
                    await ReportAsync(late.Pass, late.Iteration, late.At).ConfigureAwait(false);
                long w0 = Stopwatch.GetTimestamp();
                Task pull = await exchange.ConfigureAwait(false);
                // With τ = 0 a round is always applied before the next is computed: nothing to count.
                if (_lag > 0)
                    shard.Pending(round.Moving, 1);
                _inFlight.Enqueue((round, pull));
                WaitSeconds += Seconds(Stopwatch.GetTimestamp() - w0);
                Iterations++;
            }
            // The last pass is reported once its updates are in, so the trace ends at the final model.
            while (_inFlight.Count > 0)
                await ApplyOldestAsync().ConfigureAwait(false);
            if (last > first)
                await ReportAsync(o.Epochs, last, Stopwatch.GetTimestamp()).ConfigureAwait(false);
        }

        // The round's push, the clock that ends the iteration, then its pull, which goes out at once
        // and is answered when every worker pushed the round (sequential consistency at the round's
        // clock), so its rows are final. Completes when the pull is sent, with the pull's task.
        private async Task<Task> ExchangeAsync(BlockRound round)
        {
            await client.PushAsync(table, round.Keys, round.Rows, cancellationToken).ConfigureAwait(false);
            await client.AdvanceClockAsync().ConfigureAwait(false);
            return client.PullAsync(table, round.Keys, round.Rows, ClusterConsistency.Sequential, cancellationToken).AsTask();
        }

        private BlockRound Take() => _spare.Count > 0 ? _spare.Pop() : new BlockRound();

        // Every KktResetEvery passes every feature of a block is active again for its round of that pass.
        private void ResetIfDue(long t)
        {
            int pass = (int)(t / o.Blocks);
            if (o.KktFilter && pass > 0 && pass % o.KktResetEvery == 0)
                active.Reset((int)(t % o.Blocks));
        }

        private async Task ApplyOldestAsync()
        {
            (BlockRound round, Task pull) = _inFlight.Dequeue();
            long t0 = Stopwatch.GetTimestamp();
            await pull.ConfigureAwait(false);
            long t1 = Stopwatch.GetTimestamp();
            if (_lag > 0)
                shard.Pending(round.Moving, -1);
            round.Apply(shard, active, kkt);
            WaitSeconds += Seconds(t1 - t0);
            ComputeSeconds += Seconds(Stopwatch.GetTimestamp() - t1);
            _spare.Push(round);
        }

        // The objective over all data is the sum of every worker's share: its shard's log loss and
        // the regulariser of the features it owns, each over the whole training set's size. The
        // point's time is `at`, when the model reached it, as the baseline's is.
        private async Task ReportAsync(int pass, long iteration, long at)
        {
            long t0 = Stopwatch.GetTimestamp();
            double loss = shard.LossSum();
            double share = (loss + shard.Regulariser(o.L1, o.L2, owned)) / trainExamples;
            double estimate = (loss / Math.Max(1, shard.Data.Examples)) + (shard.Regulariser(o.L1, o.L2) / trainExamples);
            double seconds = Seconds(at - _started);
            Trace.Add(new TracePoint(pass, seconds, share));
            ComputeSeconds += Seconds(Stopwatch.GetTimestamp() - t0);
            await client.ReportAsync(new ProgressReport(client.Rank, iteration, estimate, iteration / o.Blocks * shard.Data.Examples, ComputeSeconds, WaitSeconds, false)
            {
                Metrics = new Dictionary<string, double> { ["pass"] = pass, ["seconds"] = seconds, [ObjectiveTrace.ShareMetric] = share, ["active_features"] = active.Count, ["bytes_sent"] = client.BytesSent },
            }).ConfigureAwait(false);
        }

        private static double Seconds(long ticks) => ticks / (double)Stopwatch.Frequency;
    }
}
