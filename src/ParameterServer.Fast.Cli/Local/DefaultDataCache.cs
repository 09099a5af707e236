using ParameterServer.Fast.Apps.Data;

namespace ParameterServer.Fast.Cli.Local;

/// <summary>
/// The default data set of `psf local`, generated once into a cache folder (PSF_CACHE_DIR, else
/// $XDG_CACHE_HOME/psf, else ~/.cache/psf) as a PSFD binary file that every worker then reads:
/// the first run makes it, later runs start at once, and nothing comes from outside.
/// </summary>
internal static class DefaultDataCache
{
    public static SparseDataSource Materialise(SparseDataSource source, TextWriter output)
    {
        if (source is not GeneratedData generated)
            return source;
        ClickLogGenerator g = generated.Generator;
        string dir = Folder();
        string path = Path.Combine(dir, $"clicklog-{g.Examples}-{generated.HeldOut}-seed{g.Seed}-v1.psfd");
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(dir);
            output.WriteLine($"generating the default data set into {path} (once)");
            SparseDataset all = g.Generate(0, g.Examples + generated.HeldOut);
            BinaryDataset.Write(all, path);
        }
        return new FileData(path, TestFraction: generated.HeldOut / (double)(g.Examples + generated.HeldOut));
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
