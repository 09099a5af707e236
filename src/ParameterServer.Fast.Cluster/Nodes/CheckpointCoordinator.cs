using Microsoft.Extensions.Logging;
using ParameterServer.Fast.Cluster.Checkpoints;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// The scheduler's half of a checkpoint: a consistent cut at clock c, taken like this —
/// <list type="number">
/// <item>a worker whose clock reaches a multiple c of the interval waits until every push it sent
/// is acknowledged (so every replica of its range holds it), then enters (CheckpointEnter c) and waits;</item>
/// <item>once every live worker that still has iterations has entered c, every live server is asked
/// to write its file (CheckpointWrite c). No push can reach a server meanwhile: every worker is
/// waiting, and every push it made is applied. Each server writes the ranges it is the primary
/// of, so with replication every range is in exactly one file;</item>
/// <item>when every server reported its file, the manifest is committed, older checkpoints are
/// pruned to the newest <see cref="CheckpointPolicy.Keep"/>, and the workers go on (CheckpointDone).</item>
/// </list>
/// So the checkpoint at c holds exactly the pushes every worker made in its iterations 0 … c−1
/// (a worker that finished its iterations earlier: all of them). A server lost or a failed write
/// gives the checkpoint up (it is never committed) and the job goes on. Owned by the scheduler's inbox thread.
/// </summary>
internal sealed class CheckpointCoordinator(CheckpointPolicy policy, ILogger logger, TimeProvider time, CheckpointCoordinator.IJob job)
{
    /// <summary>What the coordinator needs to know of the job, from the scheduler.</summary>
    public interface IJob
    {
        /// <summary>Ranks of the workers a checkpoint waits for: live, not done, with iterations left.</summary>
        IEnumerable<int> WorkersInIterations { get; }

        IEnumerable<(IConnection Connection, int Id)> LiveServers { get; }

        uint MapVersion { get; }
    }

    private readonly CheckpointStore _store = new(policy.Directory);
    private readonly SortedDictionary<long, List<(IConnection Connection, int Rank)>> _entered = [];
    private Round? _round;
    private long _lastOver = policy.StartClock;

    /// <summary>Raised when a checkpoint is committed: its clock, folder and total bytes.</summary>
    public event Action<long, string, long>? Committed;

    /// <summary>Raised when a checkpoint is given up: its clock and why.</summary>
    public event Action<long, string>? GivenUp;

    public CheckpointPolicy Policy => policy;

    /// <summary>The clock of the last checkpoint committed by this job (or resumed from), −1 when none.</summary>
    public long LastCommitted { get; private set; } = policy.Resume?.Found?.Clock ?? -1;

    public void Enter(IConnection worker, int rank, long clock)
    {
        // A clock already over: a replacement worker rerunning a shard, past the cut already taken.
        if (clock <= _lastOver)
        {
            Release(worker, clock, committed: false);
            return;
        }
        if (!_entered.TryGetValue(clock, out var waiting))
            _entered[clock] = waiting = [];
        waiting.Add((worker, rank));
        TryStart();
    }

    /// <summary>Starts the oldest checkpoint every worker has entered; call whenever the set of workers waited for may have shrunk.</summary>
    public void TryStart()
    {
        if (_round is not null || _entered.Count == 0)
            return;
        (long clock, var waiting) = _entered.First();
        if (job.WorkersInIterations.Any(w => !waiting.Any(e => e.Rank == w)))
            return;
        var round = new Round(clock, job.MapVersion, time.GetTimestamp());
        _round = round;
        // A folder of this clock left by an earlier run of the job (one resumed from an older
        // checkpoint) goes first: its manifest must not vouch for files being replaced.
        try
        {
            if (Directory.Exists(_store.FolderOf(clock)))
                Directory.Delete(_store.FolderOf(clock), recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            round.Failure = $"the old folder {_store.FolderOf(clock)} could not be removed: {e.Message}";
        }
        if (round.Failure is not null)
        {
            Finish(round.Failure);
            return;
        }
        byte[] folder = CheckpointMessages.EncodeFolder(_store.Root);
        foreach ((IConnection c, int id) in job.LiveServers)
        {
            round.Pending.Add(id);
            _ = Send(c, new FrameHeader(MessageType.CheckpointWrite, 0, NodeIds.Scheduler, 0, clock), folder);
        }
        logger.LogInformation("scheduler: checkpoint at clock {Clock}: {Servers} servers writing", clock, round.Pending.Count);
        if (round.Pending.Count == 0)
            Finish("no live server");
    }

    public void Written(int server, long clock, CheckpointWriteResult result)
    {
        if (_round is not { } round || round.Clock != clock || !round.Pending.Remove(server))
            return;
        if (result.File is { } file)
            round.Files.Add(file);
        else
            round.Failure ??= $"server {NodeIds.ServerRank((uint)server)}: {result.Failure}";
        if (round.Pending.Count == 0)
            Finish(round.Failure);
    }

    public void ServerLost(int server)
    {
        if (_round is not { } round)
            return;
        if (round.Pending.Remove(server) || round.Files.Any(f => f.ServerId == server))
        {
            round.Failure ??= $"server {NodeIds.ServerRank((uint)server)} was lost while the checkpoint was taken";
            if (round.Pending.Count == 0)
                Finish(round.Failure);
        }
    }

    /// <summary>Gives up a checkpoint whose servers have not all answered within the write timeout.</summary>
    public void CheckTimeout()
    {
        if (_round is { } round && time.GetElapsedTime(round.Started) > policy.WriteTimeout)
        {
            string late = string.Join(", ", round.Pending.Select(s => NodeIds.ServerRank((uint)s)));
            round.Pending.Clear();
            Finish(round.Failure ?? $"server(s) {late} did not write within {policy.WriteTimeout.TotalSeconds:0} s");
        }
    }

    private void Finish(string? failure)
    {
        Round round = _round!;
        if (failure is null && job.MapVersion != round.MapVersion)
            failure = $"the range map changed from version {round.MapVersion} to {job.MapVersion} while it was taken";
        bool committed = false;
        if (failure is null)
        {
            try
            {
                _store.Commit(new CheckpointManifest(round.Clock, round.MapVersion, [.. round.Files.OrderBy(f => f.ServerId)]));
                committed = true;
                LastCommitted = round.Clock;
                long bytes = round.Files.Sum(f => f.Length);
                logger.LogInformation("scheduler: checkpoint at clock {Clock} committed: {Files} files, {Bytes} bytes in {Folder}",
                    round.Clock, round.Files.Count, bytes, _store.FolderOf(round.Clock));
                Committed?.Invoke(round.Clock, _store.FolderOf(round.Clock), bytes);
                PruneInBackground(round.Clock);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException)
            {
                failure = e.Message;
            }
        }
        if (!committed)
        {
            logger.LogError("scheduler: checkpoint at clock {Clock} given up: {Reason}", round.Clock, failure);
            GivenUp?.Invoke(round.Clock, failure!);
        }
        _round = null;
        _lastOver = Math.Max(_lastOver, round.Clock);
        if (_entered.Remove(round.Clock, out var waiting))
        {
            foreach ((IConnection c, _) in waiting)
                Release(c, round.Clock, committed);
        }
        TryStart();
    }

    // Pruning checks the checksum of every file it counts as good: off the scheduler's thread, one
    // prune at a time. It never touches a folder newer than the newest good one (being written).
    private Task _pruning = Task.CompletedTask;

    private void PruneInBackground(long clock)
    {
        _pruning = _pruning.ContinueWith(_ =>
        {
            try
            {
                int pruned = _store.Prune(policy.Keep);
                if (pruned > 0)
                    logger.LogInformation("scheduler: {Pruned} checkpoint(s) older than the newest {Keep} removed", pruned, policy.Keep);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                logger.LogWarning("scheduler: checkpoints older than clock {Clock} could not be removed: {Message}", clock, e.Message);
            }
        }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    /// <summary>Completes when the pruning started so far is done (tests; a job ending waits for it briefly).</summary>
    public Task Pruned => _pruning;

    private static void Release(IConnection worker, long clock, bool committed) =>
        _ = Send(worker, new FrameHeader(MessageType.CheckpointDone, 0, NodeIds.Scheduler, 0, clock, committed ? 1u : 0u), []);

    private static Task Send(IConnection c, FrameHeader header, ReadOnlySpan<byte> extras) => FrameOut.SendControl(c, header, extras).AsTask();

    private sealed class Round(long clock, uint mapVersion, long started)
    {
        public long Clock { get; } = clock;
        public uint MapVersion { get; } = mapVersion;
        public long Started { get; } = started;
        public HashSet<int> Pending { get; } = [];
        public List<CheckpointFileInfo> Files { get; } = [];
        public string? Failure { get; set; }
    }
}
