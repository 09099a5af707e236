namespace ParameterServer.Fast.Core.Updaters;

/// <summary>
/// The proximal step of an L1 (+ L2) regularised objective under a diagonal quadratic model, per
/// coordinate: from the weight w₀ that the gradient g was computed at and a curvature u that bounds
/// the Hessian's diagonal, the new weight minimises
/// <code>
///   g·(w − w₀) + u/(2η)·(w − w₀)² + λ₁|w| + λ₂/2·w²   ⇒   w = S(u/η·w₀ − g, λ₁) / (u/η + λ₂),
///   S(x, λ) = sign(x)·max(|x| − λ, 0)   (soft thresholding)
/// </code>
/// with η = <see cref="UpdaterSettings.LearningRate"/> (1 takes the full step the bound allows),
/// λ₁ = <see cref="UpdaterSettings.L1"/>, λ₂ = <see cref="UpdaterSettings.L2"/>. It is the server
/// update of the paper's delayed block proximal gradient (Li et al., OSDI 2014, §5.1, Algorithm 3),
/// and the single-process baseline calls the same function, so both take identical steps.
/// </summary>
public static class ProximalStep
{
    public static float Solve(float anchor, float gradient, float curvature, in UpdaterSettings p)
    {
        // Double inside: G sums a whole data set's gradients, so u/η·w₀ − g may cancel in float.
        double scaled = curvature / (double)p.LearningRate;
        double denominator = scaled + p.L2;
        // No curvature and no L2 leave the step unbounded: keep the weight rather than jump.
        if (!(denominator > 0))
            return anchor;
        double x = (scaled * anchor) - gradient;
        double shrunk = Math.Abs(x) - p.L1;
        return shrunk <= 0 ? 0f : (float)(Math.CopySign(shrunk, x) / denominator);
    }
}
