using ParameterServer.Fast.Cli.Bench;
using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Core.Interop;

namespace ParameterServer.Fast.Cli;

/// <summary>The verbs of `psf`; exit codes: 0 success, 1 failure, 2 wrong usage.</summary>
public static class CliMain
{
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            PrintUsage(output);
            return args.Length == 0 ? 2 : 0;
        }
        string verb = args[0];
        string[] rest = args[1..];
        try
        {
            return verb switch
            {
                "bench" => BenchCommand.Run(rest, output),
                "local" => Commands.LocalCommand.Run(rest, output),
                "scheduler" => Commands.NodeCommands.Scheduler(rest, output),
                "server" => Commands.NodeCommands.Server(rest, output),
                "worker" => Commands.NodeCommands.Worker(rest, output),
                "data" => Commands.DataCommand.Run(rest, output),
                "status" => Commands.StatusCommand.Run(rest, output),
                "drain" => Commands.DrainCommand.Run(rest, output),
                "soak" => Soak.SoakCommand.Run(rest, output),
                "version" or "--version" => PrintVersion(output),
                "transport-probe" => Commands.TransportProbeCommand.Run(rest, output),
                _ => throw new UsageException($"psf: unknown command '{verb}'"),
            };
        }
        catch (UsageException e)
        {
            error.WriteLine(e.Message);
            error.WriteLine("run 'psf --help' for the commands");
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException or InvalidDataException or ArgumentException or InvalidOperationException or Apps.Data.DataFormatException)
        {
            error.WriteLine($"psf {verb}: {e.Message}");
            return 1;
        }
    }

    private static int PrintVersion(TextWriter output)
    {
        output.WriteLine($"psf {typeof(CliMain).Assembly.GetName().Version}");
        output.WriteLine(PsfNative.IsAvailable ? $"libpsf_native {PsfNative.Version}" : $"libpsf_native unavailable: {PsfNative.UnavailableReason}");
        return 0;
    }

    private static void PrintUsage(TextWriter output)
    {
        output.WriteLine("""
            psf: ParameterServer.Fast

            usage: psf COMMAND [options]

              local             an embedded cluster on this machine training a model:
                                --app sparse-lr|countmin|mlp|sum-check --servers N --workers M --transport inproc|shm|tcp|rdma
                                [--max-delay T|inf] [--epochs E] [--examples N] [--data FILE [--skip-bad-lines]]
                                [--shards S] (server nodes per server process, each owning its own key ranges; 1)
                                [--tls] [--replicas R [--replication-batch N]] [--kill server:N@SECONDS|worker:N@SECONDS] [--json FILE] [--report DIR] [--quiet]
                                [--add server@SECONDS] [--drain server:RANK@SECONDS]   (servers joining or leaving; --replicas 2+)
                                [--checkpoint-dir DIR --checkpoint-every N [--checkpoint-keep K]] [--resume]
                                sparse-lr: [--algorithm block-prox|ftrl] [--blocks B] [--l1 L] [--l2 L]
                                [--kkt-filter on|off] [--baseline on|off]
                                mlp: [--optimizer adam|sgd] [--learning-rate R] [--hidden H] [--batch-size B] [--limit N]
                                count-min: [--items N] [--width W] [--depth D] [--vocabulary V] [--skew S]
                                [--batch B] [--aggregated-ids K]
                                sum-check (a self-test: exact sums after every push, exit 1 on a mismatch):
                                [--rounds R] [--sparse-keys K] [--dense-keys K] [--key-lists L] [--pace-ms MS] [--seed S]
                                progress: live bars on a terminal, plain lines otherwise (PSF_PROGRESS=plain forces them)
              scheduler         the scheduler of a multi-machine job: --listen tcp://HOST:PORT --servers N --workers M
                                [--shards S] (the servers' --shards: the job waits for N×S server nodes) [--replicas R] [--json FILE] (the workers' final figures)
                                [--checkpoint-dir DIR --checkpoint-every N [--checkpoint-keep K]] [--resume]
              server            a server: --scheduler tcp://HOST:PORT|shm://NAME [--listen tcp://HOST:PORT|shm://NAME] [--advertise HOST]
                                [--replication-batch N] (pushes of one range replicated together at most; 16)
                                [--shards S] (server nodes in this process, listening at PORT, PORT+1, …; each owns its own
                                key ranges, and no two copies of a range go to one process) [--failure-domain NAME]
                                [--checkpoint-dir DIR] (its path of the shared checkpoint folder, if not the scheduler's)
              worker            a worker: --scheduler tcp://HOST:PORT --app sparse-lr [app options]
                                (every node needs the same secret: PSF_SECRET or --secret-file FILE;
                                 --tls or --tls-cert FILE.pfx encrypts TCP on every node;
                                 rdma://HOST:PORT falls back to TCP, saying so, where there is no RDMA device)
              status            a running job's nodes, clocks, throughput, ranges and replicas:
                                --scheduler tcp://HOST:PORT [--timeout S] [--ranges] (the job's secret, as a node)
              drain             move every range off one server of a running job (--replicas 2+), then stop it:
                                --scheduler tcp://HOST:PORT --server RANK [--timeout S] (waits until it is done)
              soak              a leak watch of several minutes (./build.sh soak): sum-check under psf local with every
                                process's RSS and open descriptors sampled; fails on growth after warm-up:
                                [--minutes M] [--warm-up-seconds S] [--interval S] [--servers N --workers M --replicas R]
                                [--rss-tolerance-mb MB] [--rss-tolerance-fraction F] [--fd-tolerance N] [--json FILE]
                                [--kill server:N@S] (within the warm-up: the survivors are judged after the failover)
              data              gen-sparse --out FILE [--format libsvm|binary] | convert IN OUT [--skip-bad-lines]
              bench SUITE       benchmarks: kernels, codec, transport, kv, countmin, apps, or all (--check compares with perf/baselines)
              version           versions of psf and of the native shim
            """);
    }
}
