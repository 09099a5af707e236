namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>Every wait in these tests ends: a request that never completes fails the test with what it was.</summary>
internal static class Bounded
{
    public static readonly TimeSpan Request = TimeSpan.FromSeconds(10);

    public static Task Wait(ValueTask request, string what) => Wait(request.AsTask(), what, Request);

    public static async Task Wait(Task task, string what, TimeSpan timeout)
    {
        try
        {
            await task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{what} did not complete within {timeout.TotalSeconds:0.#} s");
        }
    }

    public static async Task<T> Wait<T>(Task<T> task, string what, TimeSpan timeout)
    {
        await Wait((Task)task, what, timeout);
        return await task;
    }

    /// <summary>The exception a request failed with; fails the test if it succeeded or never finished.</summary>
    public static async Task<Exception> Failure(ValueTask request, string what)
    {
        Task task = request.AsTask();
        try
        {
            await task.WaitAsync(Request);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{what} did not fail within {Request.TotalSeconds:0.#} s");
        }
        catch (Exception e)
        {
            return e;
        }
        Assert.Fail($"{what} succeeded; it should have failed");
        throw new InvalidOperationException("unreachable");
    }
}
