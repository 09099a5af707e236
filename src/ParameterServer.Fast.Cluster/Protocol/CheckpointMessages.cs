using ParameterServer.Fast.Cluster.Checkpoints;

namespace ParameterServer.Fast.Cluster.Protocol;

/// <summary>What a server reports of its checkpoint file: the manifest's entry for it, or why it could not write it.</summary>
public sealed record CheckpointWriteResult(CheckpointFileInfo? File, string? Failure)
{
    public static CheckpointWriteResult Written(CheckpointFileInfo file) => new(file, null);

    public static CheckpointWriteResult Failed(string why) => new(null, why);
}

/// <summary>
/// The extras of the checkpoint frames (the clock travels in the frame header): the folder of a
/// CheckpointWrite or CheckpointRestore, and the result of a CheckpointWritten.
/// </summary>
public static class CheckpointMessages
{
    // Paths up to 4 KiB, as PATH_MAX on Linux.
    private const int MaxPath = 4096;

    public static byte[] EncodeFolder(string folder)
    {
        var w = new PayloadWriter();
        w.Str(folder);
        return w.Written.ToArray();
    }

    public static string DecodeFolder(ReadOnlySpan<byte> data)
    {
        var r = new PayloadReader(data, "checkpoint folder");
        string folder = r.Str("folder", MaxPath);
        r.End();
        if (folder.Length == 0 || folder.Contains('\0'))
            throw new Codec.Frames.ProtocolException("checkpoint folder: the path is empty or holds a NUL");
        return folder;
    }

    public static byte[] Encode(CheckpointWriteResult result)
    {
        var w = new PayloadWriter();
        w.Bool(result.File is not null);
        if (result.File is { } f)
        {
            w.I32(f.ServerId);
            w.Str(f.FileName);
            w.I64(f.Length);
            w.U32(f.Crc32C);
        }
        else
        {
            w.Str(result.Failure ?? "unknown failure");
        }
        return w.Written.ToArray();
    }

    public static CheckpointWriteResult DecodeWriteResult(ReadOnlySpan<byte> data)
    {
        var r = new PayloadReader(data, "checkpoint written");
        CheckpointWriteResult result;
        if (r.Bool("written"))
        {
            var file = new CheckpointFileInfo(r.I32("server id"), r.Str("file name", 255), r.I64("length"), r.U32("crc32c"));
            if (!CheckpointManifest.IsPlainFileName(file.FileName) || file.Length < 0)
                throw new Codec.Frames.ProtocolException($"checkpoint written: '{file.FileName}' of {file.Length} bytes is not a plain file name and length");
            result = CheckpointWriteResult.Written(file);
        }
        else
        {
            result = CheckpointWriteResult.Failed(r.Str("failure"));
        }
        r.End();
        return result;
    }
}
