using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Codec.Frames;

namespace ParameterServer.Fast.Cluster.Tests.Protocol;

/// <summary>
/// A peer can send anything: every decoder must answer random and mutated payloads with a value or a
/// <see cref="ProtocolException"/>, never another exception, a hang or a huge allocation.
/// </summary>
public sealed class ControlMessagesFuzzTests
{
    private const int Payloads = 100_000;

    public delegate void Decoder(ReadOnlySpan<byte> data);

    private static IEnumerable<TestCaseData> Decoders()
    {
        yield return Case("register request", d => ControlMessages.DecodeRegisterRequest(d),
            ControlMessages.Encode(new RegisterRequest(NodeRole.Server, "tcp://127.0.0.1:1", "rack-2/host-a")), ControlMessages.Encode(new RegisterRequest(NodeRole.Worker, "")));
        yield return Case("register reply", d => ControlMessages.DecodeRegisterReply(d), ControlMessages.Encode(new RegisterReply(65536, 0)));
        yield return Case("progress", d => ControlMessages.DecodeProgress(d),
            ControlMessages.Encode(new ProgressReport(1, 10, 0.5, 100, 1, 2, true) { Metrics = new Dictionary<string, double> { ["auc"] = 0.9 } }));
        yield return Case("table spec", d => ControlMessages.DecodeTableSpec(d), [.. ControlMessageSamples.Specs().Select(ControlMessages.Encode)]);
        yield return Case("range map", d => ControlMessages.DecodeRangeMap(d),
            ControlMessages.Encode(ControlMessageSamples.Map(1, 1)), ControlMessages.Encode(ControlMessageSamples.Map(3, 2)));
        yield return Case("replicated rows", d => Cluster.Replication.ReplicatedRows.DecodeExtras(d, []),
            Cluster.Replication.ReplicatedRows.EncodeExtras(new Core.Keys.KeyRange(0, 10), []),
            Cluster.Replication.ReplicatedRows.EncodeExtras(new Core.Keys.KeyRange(5, 1UL << 40), [(65536u, 7UL), (65537u, 9UL)]));
    }

    private static TestCaseData Case(string name, Decoder decode, params byte[][] seeds) =>
        new TestCaseData(decode, seeds) { TestName = $"{{m}}({name})" };

    [TestCaseSource(nameof(Decoders))]
    public void RandomAndMutatedPayloadsOnlyEverRaiseProtocolErrors(Decoder decode, byte[][] seeds)
    {
        var rng = new Random(20140806);
        int accepted = 0;
        var buffer = new List<byte>();
        for (int i = 0; i < Payloads; i++)
        {
            byte[] payload = i % 4 == 0 ? Random(rng) : Mutate(rng, seeds[rng.Next(seeds.Length)], buffer);
            try
            {
                decode(payload);
                accepted++;
            }
            catch (ProtocolException)
            {
            }
            catch (Exception e)
            {
                Assert.Fail($"payload {i} [{Convert.ToHexString(payload)}] raised {e.GetType().Name}: {e.Message}");
            }
        }
        foreach (byte[] seed in seeds)
            Assert.DoesNotThrow(() => decode(seed), "the unmutated payloads decode");
        TestContext.Out.WriteLine($"{accepted} of {Payloads} payloads decoded");
    }

    private static byte[] Random(Random rng)
    {
        byte[] b = new byte[rng.Next(0, 64)];
        rng.NextBytes(b);
        return b;
    }

    private static byte[] Mutate(Random rng, byte[] seed, List<byte> b)
    {
        b.Clear();
        b.AddRange(seed);
        int edits = 1 + rng.Next(4);
        for (int e = 0; e < edits && b.Count > 0; e++)
        {
            int at = rng.Next(b.Count);
            switch (rng.Next(7))
            {
                case 0:
                    b[at] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1:
                    b[at] = (byte)rng.Next(256);
                    break;
                case 2:
                    // Boundary values where lengths, counts and enums live.
                    b[at] = (byte)(rng.Next(2) == 0 ? 0xFF : 0x80);
                    break;
                case 3:
                    b.RemoveRange(at, b.Count - at);
                    break;
                case 4:
                    b.Insert(at, (byte)rng.Next(256));
                    break;
                case 5:
                    b.RemoveAt(at);
                    break;
                default:
                    // A 32-bit field overwritten with an extreme value.
                    uint v = rng.Next(3) switch { 0 => 0xFFFFFFFF, 1 => 0x7FFFFFFF, _ => (uint)rng.Next() };
                    for (int k = 0; k < 4 && at + k < b.Count; k++)
                        b[at + k] = (byte)(v >> (8 * k));
                    break;
            }
        }
        return [.. b];
    }
}
