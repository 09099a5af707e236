using System.Reflection;
using System.Runtime.InteropServices;
using ParameterServer.Fast.Core.Interop;

namespace ParameterServer.Fast.Core.Tests.Interop;

public class NativeImportTests
{
    [Test]
    public void TheNativeLibraryIsFoundBesideTheTests()
    {
        Assert.That(PsfNative.IsAvailable, Is.True, PsfNative.UnavailableReason);
        Assert.That(PsfNative.Version.Major + PsfNative.Version.Minor + PsfNative.Version.Build, Is.GreaterThan(0));
    }

    [Test]
    public void EveryImportResolvesToAnExport()
    {
        IntPtr library = NativeLibrary.Load(NativeLibraryResolver.Candidates().First(File.Exists));
        var imports = typeof(NativeMethods).GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LibraryImportAttribute>()))
            .Where(x => x.Attribute is not null)
            .ToList();
        Assert.That(imports, Is.Not.Empty);
        foreach ((MethodInfo method, LibraryImportAttribute? attribute) in imports)
        {
            string entry = attribute!.EntryPoint ?? method.Name;
            Assert.That(NativeLibrary.TryGetExport(library, entry, out _), Is.True, $"{method.Name} → {entry} is not exported");
        }
    }

    [Test]
    public void FailuresCarryTheNativeMessage()
    {
        var e = Assert.Throws<NativeException>(() => PsfNative.Check((int)NativeStatus.Invalid, "probe"));
        Assert.That(e!.Status, Is.EqualTo(NativeStatus.Invalid));
        Assert.That(e.Message, Does.StartWith("probe failed"));
    }

    [Test]
    public void TheCReferenceKernelsWork()
    {
        float[] dst = [1, 2, 3], src = [10, 20, 30];
        PsfNative.ReferenceSumInto(dst, src);
        Assert.That(dst, Is.EqualTo(new float[] { 11, 22, 33 }));
        byte[] a = [1, 2, 3], b = new byte[3];
        PsfNative.ReferenceCopy(b, a);
        Assert.That(b, Is.EqualTo(a));
    }

    [Test]
    public void TheRdmaProbeGivesACountOrAReason()
    {
        int count = NativeMethods.RdmaDeviceCount();
        if (count < 0)
            Assert.That(PsfNative.LastError(), Is.Not.Empty);
    }
}
