using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Cli.Progress;

namespace ParameterServer.Fast.Cli.Local;

/// <summary>
/// The default data set of `psf local`, generated once into a cache folder (PSF_CACHE_DIR, else
/// $XDG_CACHE_HOME/psf, else ~/.cache/psf) as a PSFD binary file that every worker then reads:
/// the first run makes it, later runs start at once, and nothing comes from outside.
/// </summary>
internal static class DefaultDataCache
{
    // Examples generated per step of the progress bar: about a tenth of a second each here.
    private const int Chunk = 10_000;

    public static SparseDataSource Materialise(SparseDataSource source, JobProgress view)
    {
        if (source is not GeneratedData generated)
            return source;
        ClickLogGenerator g = generated.Generator;
        string dir = Folder();
        string path = Path.Combine(dir, $"clicklog-{g.Examples}-{generated.HeldOut}-seed{g.Seed}-v1.psfd");
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(dir);
            view.Log.WriteLine($"generating the default data set into {path} (once)");
            int total = g.Examples + generated.HeldOut;
            var parts = new List<SparseDataset>();
            using (IProgressStage stage = view.BeginStage("generating data", total, "examples"))
            {
                // The generator is a pure function of (seed, example index), so chunks concatenate
                // to exactly the data set of one call.
                for (int first = 0; first < total; first += Chunk)
                {
                    parts.Add(g.Generate(first, Math.Min(Chunk, total - first)));
                    stage.Report(first + parts[^1].Count);
                }
            }
            BinaryDataset.Write(Concatenate(parts), path);
        }
        return new FileData(path, TestFraction: generated.HeldOut / (double)(g.Examples + generated.HeldOut));
    }

    private static SparseDataset Concatenate(List<SparseDataset> parts)
    {
        int examples = parts.Sum(p => p.Count), entries = parts.Sum(p => p.Keys.Length);
        var offsets = new int[examples + 1];
        var keys = new ulong[entries];
        var values = new float[entries];
        var labels = new float[examples];
        int example = 0, entry = 0;
        foreach (SparseDataset p in parts)
        {
            for (int i = 0; i < p.Count; i++)
                offsets[example + i + 1] = entry + p.Offsets[i + 1];
            p.Keys.CopyTo(keys, entry);
            p.Values.CopyTo(values, entry);
            p.Labels.CopyTo(labels, example);
            example += p.Count;
            entry += p.Keys.Length;
        }
        return new SparseDataset(offsets, keys, values, labels);
    }

    private static string Folder()
    {
        string? dir = Environment.GetEnvironmentVariable("PSF_CACHE_DIR");
        if (!string.IsNullOrEmpty(dir))
            return dir;
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(string.IsNullOrEmpty(xdg) ? Path.Combine(home, ".cache") : xdg, "psf");
    }
}
