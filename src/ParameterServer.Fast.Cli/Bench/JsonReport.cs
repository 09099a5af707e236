using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ParameterServer.Fast.Cli.Bench;

/// <summary>
/// Writes the one-object JSON every `--json FILE` produces:
/// {"command": ..., "config": {...}, "results": [{"name", "value", "unit", ...}]}.
/// </summary>
public static class JsonReport
{
    public static void Write(string path, string command, IReadOnlyDictionary<string, object> config, IEnumerable<BenchResult> results)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
            Directory.CreateDirectory(dir);
        string temp = path + ".tmp";
        using (var stream = File.Create(temp))
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("command", command);
            json.WritePropertyName("config");
            WriteObject(json, config);
            json.WriteStartArray("results");
            foreach (BenchResult r in results)
            {
                json.WriteStartObject();
                json.WriteString("name", r.Name);
                WriteNumber(json, "value", r.Value);
                json.WriteString("unit", r.Unit);
                foreach ((string key, object value) in r.Extra)
                {
                    json.WritePropertyName(key);
                    WriteValue(json, value);
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Reads the results of a report back as name → value (for --check).</summary>
    public static Dictionary<string, double> ReadResults(string path)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var values = new Dictionary<string, double>();
        foreach (JsonElement r in doc.RootElement.GetProperty("results").EnumerateArray())
        {
            if (r.TryGetProperty("value", out JsonElement v) && v.ValueKind == JsonValueKind.Number)
                values[r.GetProperty("name").GetString()!] = v.GetDouble();
        }
        return values;
    }

    private static void WriteObject(Utf8JsonWriter json, IReadOnlyDictionary<string, object> values)
    {
        json.WriteStartObject();
        foreach ((string key, object value) in values)
        {
            json.WritePropertyName(key);
            WriteValue(json, value);
        }
        json.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter json, object value)
    {
        switch (value)
        {
            case null: json.WriteNullValue(); break;
            case string s: json.WriteStringValue(s); break;
            case bool b: json.WriteBooleanValue(b); break;
            case int i: json.WriteNumberValue(i); break;
            case long l: json.WriteNumberValue(l); break;
            case double d: WriteNumberValue(json, d); break;
            case float f: WriteNumberValue(json, f); break;
            case IReadOnlyDictionary<string, object> o: WriteObject(json, o); break;
            case System.Collections.IEnumerable e:
                json.WriteStartArray();
                foreach (object? item in e)
                    WriteValue(json, item!);
                json.WriteEndArray();
                break;
            default: json.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture)); break;
        }
    }

    private static void WriteNumber(Utf8JsonWriter json, string name, double value)
    {
        json.WritePropertyName(name);
        WriteNumberValue(json, value);
    }

    // JSON has no NaN or infinity: an unmeasurable figure is written as null. Six decimals, or
    // six significant digits for figures below 0.001 (an error as a fraction of N is ~1e−7).
    private static void WriteNumberValue(Utf8JsonWriter json, double value)
    {
        if (!double.IsFinite(value))
            json.WriteNullValue();
        else if (value != 0 && Math.Abs(value) < 1e-3)
            json.WriteNumberValue(double.Parse(value.ToString("G6", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));
        else
            json.WriteNumberValue(Math.Round(value, 6));
    }

    public static string Format(BenchResult r) => r.Value != 0 && Math.Abs(r.Value) < 1e-3
        ? string.Create(CultureInfo.InvariantCulture, $"{r.Name,-34} {r.Value,12:0.###e0} {r.Unit}")
        : string.Create(CultureInfo.InvariantCulture, $"{r.Name,-34} {r.Value,12:0.###} {r.Unit}");
}
