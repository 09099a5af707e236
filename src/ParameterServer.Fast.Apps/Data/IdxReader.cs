using System.Buffers.Binary;
using System.IO.Compression;

namespace ParameterServer.Fast.Apps.Data;

/// <summary>Images as rows of floats in [0, 1] with their class labels.</summary>
public sealed record ImageDataset(float[] Pixels, byte[] Labels, int Rows, int Columns)
{
    public int Count => Labels.Length;

    public int PixelsPerImage => Rows * Columns;

    public ReadOnlySpan<float> Image(int i) => Pixels.AsSpan(i * PixelsPerImage, PixelsPerImage);

    /// <summary>The first <paramref name="count"/> images.</summary>
    public ImageDataset Take(int count) =>
        count >= Count ? this : new ImageDataset(Pixels[..(count * PixelsPerImage)], Labels[..count], Rows, Columns);

    public ImageDataset Shard(int rank, int workers)
    {
        int begin = (int)((long)Count * rank / workers), end = (int)((long)Count * (rank + 1) / workers);
        return new ImageDataset(Pixels[(begin * PixelsPerImage)..(end * PixelsPerImage)], Labels[begin..end], Rows, Columns);
    }
}

/// <summary>
/// Reads the IDX files of MNIST and Fashion-MNIST (optionally gzip-compressed): a big-endian
/// header (magic 0x00000803 for images with count, rows, columns; 0x00000801 for labels with
/// count), then bytes. Every size is checked against the file before use.
/// </summary>
public static class IdxReader
{
    /// <summary>Debian's dataset-fashion-mnist installs the files here.</summary>
    public const string DebianFashionMnist = "/usr/share/datasets/fashion-mnist";

    /// <summary>The "train" or "t10k" pair of a folder, "*-images-idx3-ubyte[.gz]" and "*-labels-idx1-ubyte[.gz]".</summary>
    public static ImageDataset ReadPair(string folder, string prefix)
    {
        string images = Find(folder, $"{prefix}-images-idx3-ubyte"), labels = Find(folder, $"{prefix}-labels-idx1-ubyte");
        (float[] pixels, int count, int rows, int columns) = ReadImages(images);
        byte[] classes = ReadLabels(labels);
        if (classes.Length != count)
            throw new DataFormatException($"{labels} has {classes.Length} labels for the {count} images of {images}");
        return new ImageDataset(pixels, classes, rows, columns);
    }

    private static string Find(string folder, string name)
    {
        foreach (string candidate in new[] { Path.Combine(folder, name), Path.Combine(folder, name + ".gz") })
        {
            if (File.Exists(candidate))
                return candidate;
        }
        throw new FileNotFoundException($"'{name}' (or .gz) not found in '{folder}': install Debian's dataset-fashion-mnist or point --data at a folder of IDX files");
    }

    private static byte[] ReadAll(string path)
    {
        using FileStream file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var memory = new MemoryStream();
        try
        {
            stream.CopyTo(memory);
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException($"{path}: not a valid gzip stream ({e.Message})");
        }
        return memory.ToArray();
    }

    public static (float[] Pixels, int Count, int Rows, int Columns) ReadImages(string path)
    {
        byte[] b = ReadAll(path);
        if (b.Length < 16 || BinaryPrimitives.ReadUInt32BigEndian(b) != 0x00000803)
            throw new DataFormatException($"{path}: not an IDX image file (magic {(b.Length >= 4 ? BinaryPrimitives.ReadUInt32BigEndian(b) : 0):x8}, expected 00000803)");
        uint count = BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(4)), rows = BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(8)), columns = BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(12));
        if (rows is 0 or > 4096 || columns is 0 or > 4096 || (ulong)count * rows * columns != (ulong)(b.Length - 16))
            throw new DataFormatException($"{path}: {count} images of {rows}×{columns} need {(ulong)count * rows * columns} bytes, the file has {b.Length - 16}");
        var pixels = new float[count * rows * columns];
        for (int i = 0; i < pixels.Length; i++)
            pixels[i] = b[16 + i] * (1f / 255f);
        return (pixels, (int)count, (int)rows, (int)columns);
    }

    public static byte[] ReadLabels(string path)
    {
        byte[] b = ReadAll(path);
        if (b.Length < 8 || BinaryPrimitives.ReadUInt32BigEndian(b) != 0x00000801)
            throw new DataFormatException($"{path}: not an IDX label file");
        uint count = BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(4));
        if (count != (uint)(b.Length - 8))
            throw new DataFormatException($"{path}: {count} labels announced, {b.Length - 8} present");
        byte[] labels = b[8..];
        int bad = Array.FindIndex(labels, l => l > 9);
        if (bad >= 0)
            throw new DataFormatException($"{path}: label {labels[bad]} of item {bad} is outside 0..9");
        return labels;
    }
}
