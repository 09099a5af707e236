using Microsoft.Extensions.Logging;

namespace ParameterServer.Fast.Cli;

/// <summary>Structured logs to stderr; PSF_LOG_LEVEL (Debug, Information, Warning, Error) sets the floor.</summary>
internal static class Logging
{
    public static ILoggerFactory Create() => LoggerFactory.Create(builder =>
    {
        builder.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.SetMinimumLevel(Enum.TryParse(Environment.GetEnvironmentVariable("PSF_LOG_LEVEL"), true, out LogLevel level) ? level : LogLevel.Warning);
    });
}
