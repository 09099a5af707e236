using Microsoft.Extensions.Logging;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>Requests a server answered "moved": resent once this worker holds the map the range moved in.</summary>
public sealed partial class WorkerClient
{
    // Times a request was answered "moved" and resent: a range moves once per membership change,
    // so a request bouncing more often than this means the maps disagree; it then fails, saying so.
    private const int MaxMoves = 16;

    private long _movedRequests;

    /// <summary>Requests a server answered "moved" (its range went to another server) and that were resent.</summary>
    public long MovedRequests => Interlocked.Read(ref _movedRequests);

    private void Moved(ulong requestId, PendingPart part, uint version)
    {
        if (part.Moves >= MaxMoves)
        {
            part.Ticket.PartFailed(new ParameterServerException($"{part.Description}: moved {part.Moves} times without finding the range's server (range map version {version})"));
            return;
        }
        Interlocked.Increment(ref _movedRequests);
        // Waits as if its server were gone (Server -1 is no server's id): the map of version
        // `version` or later names the range's server and RerouteAsync resends it there.
        _pending.Add(requestId, part with { Server = -1, Moves = part.Moves + 1 });
        if (_map is { } map && map.Version >= version)
        {
            _logger.LogDebug("worker {Rank}: request {Request} moved in map {Version}; resending", Rank, requestId, version);
            _ = Task.Run(() => RerouteAsync(map));
        }
    }
}
