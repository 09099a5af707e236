namespace ParameterServer.Fast.Cli.CommandLine;

/// <summary>A wrong command line: printed with the usage of the command, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
