using ParameterServer.Fast.Cli.CommandLine;

namespace ParameterServer.Fast.Cli.Tests;

public class ArgumentsTests
{
    [Test]
    public void OptionsFlagsAndPositionalsAreRead()
    {
        var args = new Arguments("test", ["--servers", "3", "--quick", "--json=out.json", "extra"]);
        Assert.That(args.Int("servers", 1), Is.EqualTo(3));
        Assert.That(args.Flag("quick"), Is.True);
        Assert.That(args.String("json"), Is.EqualTo("out.json"));
        Assert.That(args.Positionals, Is.EqualTo(new[] { "extra" }));
        args.EnsureAllUsed(allowedPositionals: 1);
    }

    [Test]
    public void AMisspeltOptionIsNamed()
    {
        var args = new Arguments("local", ["--worker", "3"]);
        args.Int("workers", 2);
        var e = Assert.Throws<UsageException>(() => args.EnsureAllUsed());
        Assert.That(e!.Message, Does.Contain("--worker"));
    }

    [Test]
    public void ValuesOutOfRangeAreRejectedWithTheirName()
    {
        var args = new Arguments("local", ["--servers", "0", "--epochs", "x"]);
        Assert.That(Assert.Throws<UsageException>(() => args.Int("servers", 1, 1, 64))!.Message, Does.Contain("--servers").And.Contain("'0'"));
        Assert.That(Assert.Throws<UsageException>(() => args.Int("epochs", 1))!.Message, Does.Contain("--epochs").And.Contain("'x'"));
    }

    [Test]
    public void OptionsFallBackToPsfEnvironmentVariables()
    {
        Environment.SetEnvironmentVariable("PSF_TEST_ONLY_OPTION", "17");
        try
        {
            Assert.That(new Arguments("t", []).Int("test-only-option", 0), Is.EqualTo(17));
            Assert.That(new Arguments("t", ["--test-only-option", "3"]).Int("test-only-option", 0), Is.EqualTo(3));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PSF_TEST_ONLY_OPTION", null);
        }
    }
}
