using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Cluster.Checkpoints;

namespace ParameterServer.Fast.Cli.Commands;

/// <summary>
/// The checkpoint options of `psf local` and `psf scheduler`: --checkpoint-dir DIR,
/// --checkpoint-every N (clocks), --checkpoint-keep K and --resume (or PSF_CHECKPOINT_DIR, …).
/// </summary>
public static class CheckpointArguments
{
    /// <summary>The options as given; <see cref="Directory"/> null when the job takes no checkpoints.</summary>
    public sealed record Settings(string? Directory, int Every, int Keep, bool Resume)
    {
        public bool Enabled => Directory is not null;
    }

    public static Settings Read(Arguments args)
    {
        string? directory = args.String("checkpoint-dir");
        bool everyGiven = args.String("checkpoint-every") is not null, keepGiven = args.String("checkpoint-keep") is not null;
        int every = args.Int("checkpoint-every", 0, 1, int.MaxValue);
        int keep = args.Int("checkpoint-keep", 2, 1, 1000);
        bool resume = args.Flag("resume");
        if (directory is null && (everyGiven || keepGiven || resume))
            throw new UsageException($"psf {args.Command}: --{(resume ? "resume" : everyGiven ? "checkpoint-every" : "checkpoint-keep")} needs --checkpoint-dir DIR (where the checkpoints are)");
        if (directory is not null && !everyGiven && !resume)
            throw new UsageException($"psf {args.Command}: --checkpoint-dir needs --checkpoint-every N (a checkpoint every N clocks), --resume, or both");
        if (directory is not null && File.Exists(directory))
            throw new UsageException($"psf {args.Command}: --checkpoint-dir {directory} is a file, not a folder");
        return new Settings(directory, every, keep, resume);
    }

    /// <summary>
    /// The policy the scheduler runs with, null when the job takes no checkpoints. With --resume
    /// it finds the last good checkpoint and says on <paramref name="log"/> which clock the job
    /// resumes from and why any newer one was skipped; none to resume from is an error
    /// (<see cref="CheckpointCorruptException"/>, naming each damaged file), never a silent fresh start.
    /// </summary>
    public static CheckpointPolicy? ToPolicy(Settings settings, string command, TextWriter log)
    {
        if (settings.Directory is null)
            return null;
        CheckpointSearch? resume = null;
        if (settings.Resume)
        {
            resume = CheckpointPolicy.FindResumePoint(settings.Directory);
            foreach (string skipped in resume.Skipped)
                log.WriteLine($"psf {command}: skipping the checkpoint at {skipped}");
            log.WriteLine($"psf {command}: resuming from the checkpoint at clock {resume.Found!.Clock} ({resume.Folder}, taken {resume.Found.Created.ToUniversalTime():u})");
        }
        return new CheckpointPolicy { Directory = settings.Directory, Every = settings.Every, Keep = settings.Keep, Resume = resume };
    }
}
