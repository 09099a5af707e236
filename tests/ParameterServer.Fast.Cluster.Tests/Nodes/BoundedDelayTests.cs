using ParameterServer.Fast.Cluster.Nodes;
using Delay = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>
/// The paper's bounded delay over a real job: one worker is slowed down, the others run as fast
/// as the servers let them. A pull at clock c must see every other worker at c − τ or later; with
/// τ = ∞ nobody waits for anybody.
/// </summary>
public sealed class BoundedDelayTests
{
    private const int Workers = 3;
    private const int Slow = Workers - 1;

    [TestCase("inproc", 0)]
    [TestCase("inproc", 1)]
    [TestCase("inproc", 4)]
    [TestCase("tcp", 1)]
    public async Task NoPullSeesAWorkerMoreThanTauIterationsBehind(string transport, int tau)
    {
        const int iterations = 12;
        await using TestCluster cluster = await TestCluster.StartAsync(transport, servers: 2, Workers);
        var run = new ClockedWorkers(cluster, await cluster.DeclareEverywhereAsync(ClockedWorkers.Table), Delay.BoundedDelay(tau));

        Task[] workers = [.. Enumerable.Range(0, Workers).Select(w => run.Run(w, iterations, w == Slow ? TimeSpan.FromMilliseconds(25) : TimeSpan.Zero))];
        await Bounded.Wait(Task.WhenAll(workers), $"{iterations} iterations under τ = {tau}", TimeSpan.FromSeconds(30));

        foreach (string line in run.Log)
            TestContext.Out.WriteLine(line);
        Assert.That(run.Violations, Is.Empty);
        for (int w = 0; w < Slow; w++)
        {
            Assert.That(run.Completed(w), Is.EqualTo(iterations));
            Assert.That(run.MaxStaleness(w), Is.EqualTo(tau), $"fast worker {w} runs ahead of the slow one as far as τ allows, and no further (completed: {string.Join(",", Enumerable.Range(0, Workers).Select(run.Completed))})");
        }
    }

    [Test]
    public async Task UnderEventualConsistencyAFastWorkerNeverWaitsForTheSlowOne()
    {
        const int iterations = 20;
        await using TestCluster cluster = await TestCluster.StartAsync("inproc", servers: 2, Workers);
        var run = new ClockedWorkers(cluster, await cluster.DeclareEverywhereAsync(ClockedWorkers.Table), Delay.Eventual);

        Task slow = run.Run(Slow, iterations, TimeSpan.FromMilliseconds(50));
        Task[] fast = [.. Enumerable.Range(0, Slow).Select(w => run.Run(w, iterations, TimeSpan.Zero))];
        await Bounded.Wait(Task.WhenAll(fast), "the fast workers", TimeSpan.FromSeconds(10));
        int slowWhenFastDone = run.Completed(Slow);
        await Bounded.Wait(slow, "the slow worker", TimeSpan.FromSeconds(10));

        TestContext.Out.WriteLine($"the slow worker had finished {slowWhenFastDone} of {iterations} iterations when the fast ones were done");
        Assert.That(run.Violations, Is.Empty);
        Assert.That(slowWhenFastDone, Is.LessThan(iterations / 2));
        Assert.That(run.MaxStaleness(0), Is.GreaterThan(iterations / 2), "worker 0 saw the slow worker far behind");
    }
}
