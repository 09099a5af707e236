using System.Xml.Linq;

namespace ParameterServer.Fast.Architecture.Tests;

/// <summary>
/// The layers of DESIGN.md, enforced: a project under src/ may reference only layers below it,
/// nothing references the CLI, and only the projects that need pointers allow unsafe code.
/// </summary>
public class ProjectGraphTests
{
    // Bottom to top. A layer may reference any layer before it in this list.
    private static readonly string[] s_layers = ["Core", "Codec", "Transport", "Cluster", "Apps", "Cli"];

    private static readonly HashSet<string> s_unsafeAllowed = ["Core", "Transport"];

    private static string RepoRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ParameterServer.Fast.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("ParameterServer.Fast.sln not found above " + AppContext.BaseDirectory);
    }

    private static IEnumerable<string> SourceProjects() =>
        Directory.GetFiles(Path.Combine(RepoRoot(), "src"), "*.csproj", SearchOption.AllDirectories);

    private static string Layer(string projectPath) =>
        Path.GetFileNameWithoutExtension(projectPath).Replace("ParameterServer.Fast.", "", StringComparison.Ordinal);

    private static IEnumerable<string> References(string projectPath) =>
        XDocument.Load(projectPath).Descendants("ProjectReference")
            .Select(r => Layer(r.Attribute("Include")!.Value.Replace('\\', '/')));

    [Test]
    public void EverySourceProjectIsAKnownLayer()
    {
        foreach (string project in SourceProjects())
            Assert.That(s_layers, Does.Contain(Layer(project)), project);
    }

    [Test]
    public void ReferencesPointDownOnly()
    {
        foreach (string project in SourceProjects())
        {
            int level = Array.IndexOf(s_layers, Layer(project));
            foreach (string reference in References(project))
            {
                int target = Array.IndexOf(s_layers, reference);
                Assert.That(target, Is.GreaterThanOrEqualTo(0).And.LessThan(level),
                    $"{Layer(project)} references {reference}: references must point down ({string.Join(" → ", s_layers.Reverse())})");
            }
        }
    }

    [Test]
    public void OnlyTheLowLevelLayersAllowUnsafeCode()
    {
        foreach (string project in SourceProjects())
        {
            bool allows = XDocument.Load(project).Descendants("AllowUnsafeBlocks").Any(e => e.Value.Trim() == "true");
            if (allows)
                Assert.That(s_unsafeAllowed, Does.Contain(Layer(project)), $"{Layer(project)} enables unsafe code");
        }
    }

    [Test]
    public void TheSolutionHoldsEveryProject()
    {
        string root = RepoRoot();
        string sln = File.ReadAllText(Path.Combine(root, "ParameterServer.Fast.sln"));
        foreach (string project in Directory.GetFiles(root, "*.csproj", SearchOption.AllDirectories)
                     .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}artifacts{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            Assert.That(sln, Does.Contain(Path.GetFileName(project)), $"{project} is not in the solution");
        }
    }
}
