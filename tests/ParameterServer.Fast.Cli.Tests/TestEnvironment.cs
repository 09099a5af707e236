namespace ParameterServer.Fast.Cli.Tests;

/// <summary>Keeps generated data sets of the tests out of the user's cache folder (child processes inherit it).</summary>
[SetUpFixture]
public sealed class TestEnvironment
{
    private string _cache = "";

    [OneTimeSetUp]
    public void UseATemporaryCache()
    {
        _cache = Path.Combine(Path.GetTempPath(), $"psf-test-cache-{Guid.NewGuid():N}");
        Environment.SetEnvironmentVariable("PSF_CACHE_DIR", _cache);
    }

    [OneTimeTearDown]
    public void RemoveIt()
    {
        Environment.SetEnvironmentVariable("PSF_CACHE_DIR", null);
        if (Directory.Exists(_cache))
            Directory.Delete(_cache, recursive: true);
    }
}
