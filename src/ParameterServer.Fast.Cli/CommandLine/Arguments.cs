using System.Numerics;
using System.Globalization;

namespace ParameterServer.Fast.Cli.CommandLine;

/// <summary>
/// The options of one command: `--name value`, `--name=value` and bare `--flag`. Every option a
/// command reads is declared by reading it; <see cref="EnsureAllUsed"/> then rejects the rest,
/// so a misspelt flag is an error that names it, never silently ignored.
/// Options may also come from the environment as PSF_NAME (dashes become underscores).
/// </summary>
public sealed class Arguments
{
    private readonly string _command;
    private readonly List<(string Name, string? Value)> _options = [];
    private readonly List<string> _positionals = [];
    private readonly HashSet<string> _used = [];

    public Arguments(string command, IEnumerable<string> args)
    {
        _command = command;
        foreach (string arg in args)
        {
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.Length > 2)
            {
                int eq = arg.IndexOf('=');
                if (eq > 0)
                    _options.Add((arg[2..eq], arg[(eq + 1)..]));
                else
                    _options.Add((arg[2..], null));
            }
            else if (_options.Count > 0 && _options[^1].Value is null)
            {
                _options[^1] = (_options[^1].Name, arg);
            }
            else
            {
                _positionals.Add(arg);
            }
        }
    }

    public string Command => _command;

    public IReadOnlyList<string> Positionals => _positionals;

    public bool Flag(string name)
    {
        _used.Add(name);
        string? value = Last(name, out bool present);
        if (!present)
            return ParseBool(name, Environment.GetEnvironmentVariable(EnvName(name))) ?? false;
        if (value is null)
            return true;
        // "--flag value" swallowed a positional: a flag takes no value unless it is a boolean.
        bool? parsed = ParseBool(name, value, strict: false);
        if (parsed is null)
        {
            _positionals.Add(value);
            return true;
        }
        return parsed.Value;
    }

    public string? String(string name)
    {
        _used.Add(name);
        string? value = Last(name, out bool present);
        if (!present)
            return Environment.GetEnvironmentVariable(EnvName(name));
        return value ?? throw new UsageException($"psf {_command}: option --{name} needs a value");
    }

    public string String(string name, string fallback) => String(name) ?? fallback;

    public IReadOnlyList<string> Strings(string name)
    {
        _used.Add(name);
        var values = new List<string>();
        foreach ((string n, string? v) in _options)
        {
            if (n == name)
                values.Add(v ?? throw new UsageException($"psf {_command}: option --{name} needs a value"));
        }
        return values;
    }

    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue) =>
        Number(name, fallback, min, max, NumberStyles.Integer, "a whole number");

    public long Long(string name, long fallback, long min = long.MinValue, long max = long.MaxValue) =>
        Number(name, fallback, min, max, NumberStyles.Integer, "a whole number");

    public double Double(string name, double fallback, double min = double.MinValue, double max = double.MaxValue) =>
        Number(name, fallback, min, max, NumberStyles.Float, "a number");

    // One parse-and-range-check for every numeric option; NaN fails the range test too.
    private T Number<T>(string name, T fallback, T min, T max, NumberStyles style, string what) where T : INumber<T>
    {
        string? text = String(name);
        if (text is null)
            return fallback;
        if (!T.TryParse(text, style, CultureInfo.InvariantCulture, out T? value) || !(value >= min && value <= max))
            throw new UsageException($"psf {_command}: --{name} must be {what} in [{min}, {max}], got '{text}'");
        return value;
    }

    public T Choice<T>(string name, T fallback, IReadOnlyDictionary<string, T> choices)
    {
        string? text = String(name);
        if (text is null)
            return fallback;
        return choices.TryGetValue(text, out T? value)
            ? value
            : throw new UsageException($"psf {_command}: --{name} must be one of {string.Join(", ", choices.Keys)}, got '{text}'");
    }

    /// <summary>Throws naming the first option no one read, and any stray positional argument.</summary>
    public void EnsureAllUsed(int allowedPositionals = 0)
    {
        foreach ((string name, _) in _options)
        {
            if (!_used.Contains(name))
                throw new UsageException($"psf {_command}: unknown option --{name}");
        }
        if (_positionals.Count > allowedPositionals)
            throw new UsageException($"psf {_command}: unexpected argument '{_positionals[allowedPositionals]}'");
    }

    private string? Last(string name, out bool present)
    {
        for (int i = _options.Count - 1; i >= 0; i--)
        {
            if (_options[i].Name == name)
            {
                present = true;
                return _options[i].Value;
            }
        }
        present = false;
        return null;
    }

    private static string EnvName(string name) => "PSF_" + name.Replace('-', '_').ToUpperInvariant();

    private bool? ParseBool(string name, string? text, bool strict = true) => text?.ToLowerInvariant() switch
    {
        null => null,
        "1" or "true" or "yes" or "on" => true,
        "0" or "false" or "no" or "off" => false,
        _ when strict => throw new UsageException($"psf {_command}: --{name} is a flag (true/false), got '{text}'"),
        _ => null,
    };
}
