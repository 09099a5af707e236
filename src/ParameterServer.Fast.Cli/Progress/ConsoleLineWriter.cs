using System.Text;
using Spectre.Console;

namespace ParameterServer.Fast.Cli.Progress;

/// <summary>
/// A TextWriter whose lines go to a Spectre.Console console as plain text, so that while live
/// bars are drawn the lines scroll above them instead of tearing through them.
/// </summary>
internal sealed class ConsoleLineWriter(IAnsiConsole console) : TextWriter
{
    private readonly StringBuilder _line = new();

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value)
    {
        lock (_line)
        {
            if (value == '\n')
            {
                console.Write(new Text(_line.ToString().TrimEnd('\r') + "\n"));
                _line.Clear();
            }
            else
            {
                _line.Append(value);
            }
        }
    }

    public override void Write(string? value)
    {
        if (value is null)
            return;
        foreach (char c in value)
            Write(c);
    }

    public override void WriteLine(string? value) => Write((value ?? "") + "\n");
}
