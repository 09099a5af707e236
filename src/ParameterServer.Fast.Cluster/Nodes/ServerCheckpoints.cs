using ParameterServer.Fast.Cluster.Checkpoints;
using ParameterServer.Fast.Cluster.Placement;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// A server's half of a checkpoint: writing its file, and filling a newly declared table from the
/// files of the checkpoint a job resumes from. Runs on the server's inbox thread, which owns the
/// tables, so no push interleaves with either.
/// </summary>
internal static class ServerCheckpoints
{
    /// <summary>
    /// Writes the parts this server is the primary of, of every table, to its file of the checkpoint
    /// at <paramref name="clock"/> under <paramref name="root"/>. Backups write nothing: with
    /// replication every range is then in exactly one file, the one its primary wrote.
    /// </summary>
    public static CheckpointFileInfo Write(string root, long clock, int serverId, uint mapVersion, IEnumerable<ServerTable> tables)
    {
        var parts = new List<Table>();
        foreach (ServerTable table in tables.OrderBy(t => t.Layout.Id))
        {
            foreach (RangeAssignment a in table.Layout.Ranges)
            {
                if (a.Primary != serverId)
                    continue;
                int held = table.Parts.FindIndex(p => p.Range == a.Range);
                if (held < 0)
                    throw new InvalidOperationException($"table '{table.Layout.Spec.Name}': this server is the primary of {a.Range} but holds no such part");
                parts.Add(table.Parts[held].Table);
            }
        }
        string path = new CheckpointStore(root).ServerFilePath(clock, serverId);
        return CheckpointWriter.Write(path, new CheckpointFileHeader(serverId, clock, mapVersion), parts);
    }

    /// <summary>
    /// Fills every part of <paramref name="table"/> this server holds (as primary or backup) with
    /// the rows the checkpoint's files hold for its range, whichever server wrote them. Each file
    /// is read whole, so its checksums are checked even where nothing of it is used. Throws when
    /// the checkpoint holds the table but not all of a part (taken with another set of servers)
    /// or with another shape; returns false when it does not hold the table at all.
    /// </summary>
    public static bool Restore(string folder, CheckpointManifest manifest, ServerTable table)
    {
        TableSpec spec = table.Layout.Spec;
        if (table.Parts.Count == 0)
            return true; // nothing of it is held here
        var covered = new ulong[table.Parts.Count];
        bool seen = false;
        foreach (CheckpointFileInfo file in manifest.Files)
        {
            string path = Path.Combine(folder, file.FileName);
            CheckpointReader.Restore(path, section =>
            {
                if (section.Spec.Name != spec.Name)
                    return null;
                seen = true;
                if (!SameShape(section.Spec, spec))
                    throw new InvalidOperationException($"{path}: table '{spec.Name}' was checkpointed as {Describe(section.Spec)}; the job now declares it as {Describe(spec)}: resume with the options the checkpointed job had");
                for (int i = 0; i < table.Parts.Count; i++)
                {
                    KeyRange part = table.Parts[i].Range;
                    if (part.Contains(section.OwnedRange))
                    {
                        covered[i] += section.OwnedRange.Size;
                        return table.Parts[i].Table;
                    }
                    if (!part.Intersect(section.OwnedRange).IsEmpty)
                        throw new InvalidOperationException($"{path}: the checkpoint's range {section.OwnedRange} of table '{spec.Name}' straddles this server's range {part}: it was taken with another set of servers ({manifest.Files.Count}); resume with that many");
                }
                return null;
            });
        }
        if (!seen)
            return false;
        for (int i = 0; i < covered.Length; i++)
        {
            KeyRange part = table.Parts[i].Range;
            if (covered[i] != part.Size)
                throw new InvalidOperationException($"checkpoint {folder} holds {covered[i]} of the {part.Size} keys of table '{spec.Name}' range {part} this server holds: it was taken with another set of servers ({manifest.Files.Count}); resume with that many");
        }
        return true;
    }

    private static bool SameShape(TableSpec a, TableSpec b) =>
        a.Kind == b.Kind && a.Width == b.Width && a.Range == b.Range && a.Updater == b.Updater && a.Settings == b.Settings;

    private static string Describe(TableSpec s) => $"{s.Kind} width {s.Width} over {s.Range} with {s.Updater} ({s.Settings})";
}
