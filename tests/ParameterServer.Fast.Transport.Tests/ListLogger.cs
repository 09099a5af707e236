using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ParameterServer.Fast.Transport.Tests;

/// <summary>Keeps every message logged, so a test can check what a listener said about a refused peer.</summary>
internal sealed class ListLogger : ILogger
{
    public readonly ConcurrentQueue<string> Messages = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Messages.Enqueue($"{logLevel}: {formatter(state, exception)}");

    /// <summary>Waits (bounded) until a message contains every one of <paramref name="parts"/>.</summary>
    public string? WaitFor(TimeSpan timeout, params string[] parts)
    {
        string? found = null;
        SpinWait.SpinUntil(() => (found = Messages.FirstOrDefault(m => parts.All(m.Contains))) is not null, timeout);
        return found;
    }
}
