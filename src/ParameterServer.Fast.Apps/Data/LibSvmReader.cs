using System.Text;

namespace ParameterServer.Fast.Apps.Data;

/// <summary>A malformed data file: the message names the file, line and column.</summary>
public sealed class DataFormatException(string message) : Exception(message);

/// <summary>
/// Reads LIBSVM / SVMlight text ("label index:value index:value ... # comment") into a
/// <see cref="SparseDataset"/>. The file is cut at line boundaries into one chunk per core and the
/// chunks are parsed in parallel. Labels &gt; 0 are positive. Indices are uint64, strictly
/// increasing within a line. A bad line is an error naming file, line and column, or with
/// <c>skipBadLines</c> it is counted and left out.
/// </summary>
public static class LibSvmReader
{
    public sealed record Result(SparseDataset Data, long SkippedLines, IReadOnlyList<string> FirstErrors);

    public static Result Read(string path, bool skipBadLines = false)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"data file '{path}' does not exist");
        byte[] bytes = File.ReadAllBytes(path);
        return Parse(bytes, path, skipBadLines);
    }

    public static Result Parse(ReadOnlySpan<byte> text, string name, bool skipBadLines = false)
    {
        byte[] data = text.ToArray();
        int chunks = data.Length < (1 << 20) ? 1 : Environment.ProcessorCount;
        var bounds = new int[chunks + 1];
        bounds[chunks] = data.Length;
        for (int c = 1; c < chunks; c++)
        {
            int at = Math.Max(bounds[c - 1], (int)((long)data.Length * c / chunks));
            int newline = Array.IndexOf(data, (byte)'\n', at);
            bounds[c] = newline < 0 ? data.Length : newline + 1;
        }
        var parts = new Chunk[chunks];
        Parallel.For(0, chunks, c => parts[c] = ParseChunk(data, bounds[c], bounds[c + 1]));

        // Line numbers of errors are relative to their chunk until the lines before it are known.
        long linesBefore = 0, skipped = 0;
        var errors = new List<string>();
        foreach (Chunk part in parts)
        {
            foreach ((long line, int column, string message) in part.Errors)
            {
                string full = $"{name}:{linesBefore + line}:{column}: {message}";
                if (!skipBadLines)
                    throw new DataFormatException(full);
                if (errors.Count < 5)
                    errors.Add(full);
                skipped++;
            }
            linesBefore += part.Lines;
        }
        int examples = parts.Sum(p => p.Labels.Count);
        int nonZeros = parts.Sum(p => p.Keys.Count);
        var offsets = new int[examples + 1];
        var keys = new ulong[nonZeros];
        var values = new float[nonZeros];
        var labels = new float[examples];
        int e = 0, k = 0;
        foreach (Chunk part in parts)
        {
            for (int i = 0; i < part.Labels.Count; i++)
            {
                labels[e] = part.Labels[i];
                offsets[e + 1] = k + part.Offsets[i + 1];
                e++;
            }
            part.Keys.CopyTo(keys, k);
            part.Values.CopyTo(values, k);
            k += part.Keys.Count;
        }
        return new Result(new SparseDataset(offsets, keys, values, labels), skipped, errors);
    }

    private sealed class Chunk
    {
        public readonly List<int> Offsets = [0];
        public readonly List<ulong> Keys = [];
        public readonly List<float> Values = [];
        public readonly List<float> Labels = [];
        public readonly List<(long Line, int Column, string Message)> Errors = [];
        public long Lines;
    }

    private static Chunk ParseChunk(byte[] data, int start, int end)
    {
        var chunk = new Chunk();
        int lineStart = start;
        while (lineStart < end)
        {
            int newline = Array.IndexOf(data, (byte)'\n', lineStart, end - lineStart);
            int lineEnd = newline < 0 ? end : newline;
            chunk.Lines++;
            ReadOnlySpan<byte> line = data.AsSpan(lineStart, lineEnd - lineStart);
            int keysBefore = chunk.Keys.Count;
            string? error = ParseLine(line, chunk, out int column);
            if (error is not null)
            {
                chunk.Keys.RemoveRange(keysBefore, chunk.Keys.Count - keysBefore);
                chunk.Values.RemoveRange(keysBefore, chunk.Values.Count - keysBefore);
                chunk.Errors.Add((chunk.Lines, column + 1, error));
            }
            lineStart = lineEnd + 1;
        }
        return chunk;
    }

    // Parses one line into the chunk; returns an error message (and its 0-based column) or null.
    private static string? ParseLine(ReadOnlySpan<byte> line, Chunk chunk, out int column)
    {
        column = 0;
        int hash = line.IndexOf((byte)'#');
        if (hash >= 0)
            line = line[..hash];
        if (line.Length > 0 && line[^1] == '\r')
            line = line[..^1];
        int i = SkipSpace(line, 0);
        if (i == line.Length)
            return null; // blank or comment-only line
        int tokenEnd = TokenEnd(line, i);
        column = i;
        if (!TryParseFloat(line[i..tokenEnd], out float label))
            return $"label '{Encoding.UTF8.GetString(line[i..tokenEnd])}' is not a number";
        ulong previous = 0;
        bool first = true;
        i = SkipSpace(line, tokenEnd);
        while (i < line.Length)
        {
            column = i;
            tokenEnd = TokenEnd(line, i);
            ReadOnlySpan<byte> token = line[i..tokenEnd];
            int colon = token.IndexOf((byte)':');
            if (colon <= 0 || colon == token.Length - 1)
                return $"expected index:value, got '{Encoding.UTF8.GetString(token)}'";
            if (token[..colon].SequenceEqual("qid"u8))
            {
                i = SkipSpace(line, tokenEnd);
                continue;
            }
            if (!ulong.TryParse(token[..colon], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ulong index))
                return $"feature index '{Encoding.UTF8.GetString(token[..colon])}' is not a whole number in 0..{ulong.MaxValue}";
            if (!first && index <= previous)
                return $"feature index {index} is not greater than the previous {previous} (indices must increase along a line)";
            if (!TryParseFloat(token[(colon + 1)..], out float value) || !float.IsFinite(value))
                return $"value '{Encoding.UTF8.GetString(token[(colon + 1)..])}' of feature {index} is not a finite number";
            chunk.Keys.Add(index);
            chunk.Values.Add(value);
            previous = index;
            first = false;
            i = SkipSpace(line, tokenEnd);
        }
        chunk.Labels.Add(label > 0 ? 1f : 0f);
        chunk.Offsets.Add(chunk.Keys.Count);
        return null;
    }

    private static bool TryParseFloat(ReadOnlySpan<byte> s, out float value) =>
        float.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out value);

    private static int SkipSpace(ReadOnlySpan<byte> s, int i)
    {
        while (i < s.Length && (s[i] == ' ' || s[i] == '\t'))
            i++;
        return i;
    }

    private static int TokenEnd(ReadOnlySpan<byte> s, int i)
    {
        while (i < s.Length && s[i] != ' ' && s[i] != '\t')
            i++;
        return i;
    }

    /// <summary>Writes a data set as LIBSVM text.</summary>
    public static void Write(SparseDataset data, string path)
    {
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        var line = new StringBuilder();
        for (int e = 0; e < data.Count; e++)
        {
            line.Clear();
            line.Append(data.Labels[e] > 0.5f ? "1" : "0");
            ReadOnlySpan<ulong> k = data.KeysOf(e);
            ReadOnlySpan<float> v = data.ValuesOf(e);
            for (int f = 0; f < k.Length; f++)
                line.Append(' ').Append(k[f]).Append(':').Append(v[f].ToString("R", System.Globalization.CultureInfo.InvariantCulture));
            writer.WriteLine(line);
        }
    }
}
