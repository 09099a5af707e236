using ParameterServer.Fast.Core.Kernels;

namespace ParameterServer.Fast.Apps.Mlp;

/// <summary>
/// Forward and backward passes of input → hidden (ReLU) → classes (softmax) on one minibatch,
/// with the SIMD kernels of Core. Each layer's parameters are one flat array:
/// <code>
///   layer 1: W1[hidden][inputs] (row j = the weights into hidden unit j) | b1[hidden]
///   layer 2: W2[classes][hidden]                                          | b2[classes]
/// </code>
/// Row-major weights make every dot product and every gradient update a contiguous SIMD pass.
/// </summary>
public sealed class MlpModel(int inputs, int hidden, int classes)
{
    private readonly float[] _h = new float[hidden];
    private readonly float[] _logits = new float[classes];
    private readonly float[] _dh = new float[hidden];

    public int Inputs => inputs;
    public int Hidden => hidden;
    public int Classes => classes;
    public int Layer1Size => (inputs * hidden) + hidden;
    public int Layer2Size => (hidden * classes) + classes;

    /// <summary>Class probabilities of one input into <paramref name="probabilities"/>.</summary>
    public void Predict(ReadOnlySpan<float> layer1, ReadOnlySpan<float> layer2, ReadOnlySpan<float> x, Span<float> probabilities)
    {
        Forward(layer1, layer2, x);
        _logits.CopyTo(probabilities);
    }

    /// <summary>
    /// Adds the gradients of the mean cross-entropy over the batch into <paramref name="grad1"/> and
    /// <paramref name="grad2"/> (zeroed by the caller); returns the summed loss and the number right.
    /// </summary>
    public (double Loss, int Correct) Backward(ReadOnlySpan<float> layer1, ReadOnlySpan<float> layer2, ReadOnlySpan<float> images, ReadOnlySpan<byte> labels,
        Span<float> grad1, Span<float> grad2)
    {
        int batch = labels.Length;
        float scale = 1f / batch;
        double loss = 0;
        int correct = 0;
        Span<float> gW1 = grad1[..(inputs * hidden)], gb1 = grad1[(inputs * hidden)..];
        Span<float> gW2 = grad2[..(hidden * classes)], gb2 = grad2[(hidden * classes)..];
        ReadOnlySpan<float> w2 = layer2[..(hidden * classes)];
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> x = images.Slice(n * inputs, inputs);
            Forward(layer1, layer2, x);
            int y = labels[n];
            loss -= Math.Log(Math.Max(_logits[y], 1e-12f));
            correct += ArgMax(_logits) == y ? 1 : 0;
            // d loss / d logits = softmax − one-hot, averaged over the batch.
            _logits[y] -= 1f;
            Array.Clear(_dh);
            for (int k = 0; k < classes; k++)
            {
                float d = _logits[k] * scale;
                gb2[k] += d;
                VectorKernels.Axpy(gW2.Slice(k * hidden, hidden), d, _h);
                VectorKernels.Axpy(_dh, d, w2.Slice(k * hidden, hidden));
            }
            for (int j = 0; j < hidden; j++)
            {
                if (_h[j] <= 0f || _dh[j] == 0f)
                    continue;
                gb1[j] += _dh[j];
                VectorKernels.Axpy(gW1.Slice(j * inputs, inputs), _dh[j], x);
            }
        }
        return (loss, correct);
    }

    private void Forward(ReadOnlySpan<float> layer1, ReadOnlySpan<float> layer2, ReadOnlySpan<float> x)
    {
        ReadOnlySpan<float> w1 = layer1[..(inputs * hidden)], b1 = layer1[(inputs * hidden)..];
        ReadOnlySpan<float> w2 = layer2[..(hidden * classes)], b2 = layer2[(hidden * classes)..];
        for (int j = 0; j < hidden; j++)
            _h[j] = Math.Max(0f, VectorKernels.Dot(w1.Slice(j * inputs, inputs), x) + b1[j]);
        float max = float.MinValue;
        for (int k = 0; k < classes; k++)
        {
            _logits[k] = VectorKernels.Dot(w2.Slice(k * hidden, hidden), _h) + b2[k];
            max = Math.Max(max, _logits[k]);
        }
        float sum = 0;
        for (int k = 0; k < classes; k++)
        {
            _logits[k] = MathF.Exp(_logits[k] - max);
            sum += _logits[k];
        }
        for (int k = 0; k < classes; k++)
            _logits[k] /= sum;
    }

    private static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++)
        {
            if (v[i] > v[best])
                best = i;
        }
        return best;
    }
}
