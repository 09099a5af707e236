using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.InProc;
using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Apps.Tests;

/// <summary>A whole job in this process over the in-process transport; every wait bounded.</summary>
internal static class InProcessJob
{
    public static async Task<Dictionary<int, ProgressReport>> RunAsync(int servers, int workers, Func<WorkerClient, Task> work, TimeSpan timeout,
        Cluster.Checkpoints.CheckpointPolicy? checkpoints = null)
    {
        var transport = new InProcTransport(ClusterSecret.Generate());
        string job = Guid.NewGuid().ToString("N");
        await using var scheduler = new SchedulerNode(transport, Endpoint.Parse($"inproc://{job}-scheduler"), new JobOptions { Servers = servers, Workers = workers }) { Checkpoints = checkpoints };
        var finals = new Dictionary<int, ProgressReport>();
        scheduler.Progress += r =>
        {
            if (r.Done)
                lock (finals)
                    finals[r.Worker] = r;
        };
        scheduler.Start();
        using var cts = new CancellationTokenSource(timeout);
        var nodes = Enumerable.Range(0, servers).Select(s => new ServerNode(transport, Endpoint.Parse($"inproc://{job}-server-{s}"), scheduler.Endpoint)).ToList();
        try
        {
            await Task.WhenAll(nodes.Select(n => n.StartAsync(cts.Token)));
            var clients = new List<WorkerClient>();
            for (int w = 0; w < workers; w++)
                clients.Add(await WorkerClient.ConnectAsync(transport, scheduler.Endpoint, cancellationToken: cts.Token));
            await Task.WhenAll(clients.Select(c => Task.Run(() => work(c), cts.Token))).WaitAsync(cts.Token);
            await scheduler.Finished.WaitAsync(cts.Token);
            foreach (WorkerClient c in clients)
                await c.DisposeAsync();
        }
        finally
        {
            foreach (ServerNode n in nodes)
                await n.DisposeAsync();
        }
        return finals;
    }
}
