r"""Full-covariance Gaussian ops: the lower-triangular scale, its reparameterized sample, the
closed-form KL to N(0, I) and the log-density.

q(z | x) = N(z; mu, Sigma) with Sigma = L L^T, L lower-triangular with a positive diagonal:

    L = mask * L' + diag(sigma),   sigma = exp(log_std),   mask_ij = 1 if i > j else 0
    z = mu + L eps,   eps ~ N(0, I)                         so  log|det dz/d eps| = sum_i log|L_ii|

L' is stored compactly: the Z (Z - 1) / 2 strictly-lower entries in row-major order
(``numpy.tril_indices(Z, -1)``), so no parameter is ever multiplied by a zero of the mask.
"""
import numpy as np

from ..arrays.backend import array_module
from .gaussian import LOG_2PI
from .registry import register_op


def n_offdiag(latent_dim):
    """Number of strictly-lower entries of a (Z, Z) matrix: Z (Z - 1) / 2."""
    return latent_dim * (latent_dim - 1) // 2


def scale_tril_forward(log_std, offdiag):
    r"""L = mask * L' + diag(exp(log_std)): the lower-triangular scale of a full-covariance Gaussian.

    L_ij = offdiag[t(i, j)] for i > j (t the row-major index of tril_indices(Z, -1));
    L_ii = exp(log_std_i);  L_ij = 0 for i < j.
    Shapes: log_std (B, Z), offdiag (B, Z (Z - 1) / 2) -> L (B, Z, Z).
    """
    xp = array_module(log_std)
    B, Z = log_std.shape
    if offdiag.shape != (B, n_offdiag(Z)):
        raise ValueError(f"offdiag must have shape ({B}, {n_offdiag(Z)}) for latent_dim {Z}, "
                         f"got {tuple(offdiag.shape)}")
    rows, cols = np.tril_indices(Z, -1)
    diag = np.arange(Z)
    sigma = xp.exp(log_std)                                           # (B, Z)
    L = xp.zeros((B, Z, Z), dtype=log_std.dtype)                      # (B, Z, Z)
    L[:, rows, cols] = offdiag                                        # strictly lower part: mask * L'
    L[:, diag, diag] = sigma                                          # diagonal: sigma
    return L, (sigma, rows, cols)


def scale_tril_backward(dL, cache):
    r"""dL/dlog_std_i = dL_ii * sigma_i  (d exp(s)/ds = exp(s));  dL/doffdiag_t = dL_ij at t = t(i, j).

    The entries above the diagonal are constants (zero): their incoming gradient is dropped.
    Shapes: dL (B, Z, Z) -> dlog_std (B, Z), doffdiag (B, Z (Z - 1) / 2).
    """
    sigma, rows, cols = cache
    xp = array_module(dL)
    dlog_std = xp.diagonal(dL, axis1=1, axis2=2) * sigma              # (B, Z)
    doffdiag = dL[:, rows, cols]                                      # (B, Z (Z - 1) / 2)
    return dlog_std, doffdiag


def tril_reparameterize_forward(mu, L, eps):
    r"""z = mu + L eps: a sample of N(mu, L L^T) from standard-normal noise.

    z_lbi = mu_bi + sum_j L_bij eps_lbj.
    Shapes: mu (B, Z), L (B, Z, Z), eps (S, B, Z) -> z (S, B, Z).
    """
    xp = array_module(mu)
    z = mu + xp.einsum("bij,sbj->sbi", L, eps)                        # (S, B, Z)
    return z, (L, eps)


def tril_reparameterize_backward(dz, cache):
    r"""Gradients of z_l = mu + L eps_l, summed over the S samples.

    dL/dmu   = sum_l dz_l                      (dz_l/dmu = I)
    dL/dL_ij = sum_l dz_li eps_lj              (dz_li/dL_ij = eps_lj)
    Shapes: dz (S, B, Z) -> dmu (B, Z), dL (B, Z, Z).
    """
    L, eps = cache
    xp = array_module(dz)
    dmu = dz.sum(axis=0)                                              # (B, Z)
    dL = xp.einsum("sbi,sbj->bij", dz, eps)                           # (B, Z, Z)
    return dmu, dL


def kl_tril_standard_normal_forward(mu, L):
    r"""KL(N(mu, L L^T) || N(0, I)) in closed form, for lower-triangular L.

    KL = 1/2 [ tr(L L^T) + mu^T mu - Z - log det(L L^T) ]
       = 1/2 [ sum_ij L_ij^2 + sum_i mu_i^2 - Z ] - sum_i log|L_ii|
    (tr(L L^T) is the squared Frobenius norm; det L = prod_i L_ii for a triangular L.)
    Shapes: mu (B, Z), L (B, Z, Z) -> kl (B,).
    """
    xp = array_module(mu)
    Z = mu.shape[-1]
    diag = xp.diagonal(L, axis1=-2, axis2=-1)                         # (B, Z)
    trace = xp.sum(L * L, axis=(-2, -1))                              # (B,)  tr(L L^T)
    kl = 0.5 * (trace + xp.sum(mu * mu, axis=-1) - Z) - xp.sum(xp.log(xp.abs(diag)), axis=-1)  # (B,)
    return kl, (mu, L, diag)


def kl_tril_standard_normal_backward(dkl, cache):
    r"""dKL/dmu = mu;   dKL/dL = L - diag(1 / L_ii)   (d tr(L L^T)/2 dL = L;  d log|L_ii| / dL_ii = 1/L_ii).

    Shapes: dkl (B,) -> dmu (B, Z), dL (B, Z, Z).
    """
    mu, L, diag = cache
    xp = array_module(mu)
    Z = mu.shape[-1]
    eye = xp.eye(Z, dtype=L.dtype)                                    # (Z, Z)
    dmu = dkl[:, None] * mu                                           # (B, Z)
    dL = dkl[:, None, None] * (L - eye * (1.0 / diag)[:, None, :])    # (B, Z, Z)
    return dmu, dL


def log_normal_tril_forward(z, mu, L):
    r"""log N(z; mu, L L^T) for a lower-triangular L with non-zero diagonal.

    With u = L^{-1} (z - mu) (the noise that produced z):
        log N = -1/2 u^T u - Z/2 log(2 pi) - sum_i log|L_ii|
    Shapes: z (S, B, Z), mu (B, Z), L (B, Z, Z) -> logp (S, B).
    """
    xp = array_module(z)
    Z = z.shape[-1]
    diff = z - mu                                                     # (S, B, Z)
    u = xp.linalg.solve(L[None], diff[..., None])[..., 0]             # (S, B, Z)  L u = z - mu
    diag = xp.diagonal(L, axis1=-2, axis2=-1)                         # (B, Z)
    logdet = xp.sum(xp.log(xp.abs(diag)), axis=-1)                    # (B,)
    logp = -0.5 * xp.sum(u * u, axis=-1) - 0.5 * Z * LOG_2PI - logdet  # (S, B)
    return logp, (L, u, diag)


def log_normal_tril_backward(dlogp, cache):
    r"""Gradients of log N(z; mu, L L^T), through u = L^{-1} (z - mu).

    With v = L^{-T} u:  du = L^{-1} (dz - dmu - dL u), so d(-u^T u / 2) = -v^T (dz - dmu) + v^T dL u:
        d/dz  = -v
        d/dmu = +v                                   (summed over the sample axis)
        d/dL  = v u^T - diag(1 / L_ii)               (summed over the sample axis)
    Shapes: dlogp (S, B) -> dz (S, B, Z), dmu (B, Z), dL (B, Z, Z).
    """
    L, u, diag = cache
    xp = array_module(u)
    Z = u.shape[-1]
    LT = xp.swapaxes(L, -1, -2)                                       # (B, Z, Z)
    v = xp.linalg.solve(LT[None], u[..., None])[..., 0]               # (S, B, Z)  L^T v = u
    g = dlogp[..., None]                                              # (S, B, 1)
    dz = -g * v                                                       # (S, B, Z)
    dmu = (g * v).sum(axis=0)                                         # (B, Z)
    eye = xp.eye(Z, dtype=L.dtype)
    dL = xp.einsum("sbi,sbj->bij", g * v, u) - dlogp.sum(axis=0)[:, None, None] * eye * (1.0 / diag)[:, None, :]
    return dz, dmu, dL                                                # dL (B, Z, Z)


def _random_tril(rng, B, Z, dtype):
    """Lower-triangular (B, Z, Z) with diagonal entries of modulus in [0.5, 1.5] (far from singular)."""
    L = np.tril(rng.standard_normal((B, Z, Z)) * 0.5, -1)
    d = rng.uniform(0.5, 1.5, size=(B, Z))
    L[:, np.arange(Z), np.arange(Z)] = d
    return L.astype(dtype)


def _scale_tril_inputs(rng, dtype):
    return [rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((3, 6)).astype(dtype)]


def _tril_reparam_inputs(rng, dtype):
    return [rng.standard_normal((3, 4)).astype(dtype), _random_tril(rng, 3, 4, dtype),
            rng.standard_normal((2, 3, 4)).astype(dtype)]


def _kl_tril_inputs(rng, dtype):
    return [rng.standard_normal((3, 4)).astype(dtype), _random_tril(rng, 3, 4, dtype)]


def _log_normal_tril_inputs(rng, dtype):
    return [rng.standard_normal((2, 3, 4)).astype(dtype), rng.standard_normal((3, 4)).astype(dtype),
            _random_tril(rng, 3, 4, dtype)]


register_op("scale_tril", scale_tril_forward, scale_tril_backward, _scale_tril_inputs, wrt=(0, 1))
register_op("tril_reparameterize", tril_reparameterize_forward, tril_reparameterize_backward,
            _tril_reparam_inputs, wrt=(0, 1))
register_op("kl_tril_standard_normal", kl_tril_standard_normal_forward, kl_tril_standard_normal_backward,
            _kl_tril_inputs, wrt=(0, 1))
register_op("log_normal_tril", log_normal_tril_forward, log_normal_tril_backward, _log_normal_tril_inputs,
            wrt=(0, 1, 2))
