r"""Linear Gaussian latent models: probabilistic PCA and factor analysis.

Both are the same generative model with a different noise covariance,

    z ~ N(0, I_K),        x | z ~ N(W z + mu, Psi),        so   x ~ N(mu, C),   C = W W^T + Psi,

with Psi = sigma^2 I for probabilistic PCA (Tipping & Bishop 1999) and Psi = diag(psi) for factor
analysis (Rubin & Thayer 1982).  Their marginal likelihood log p(x) and posterior p(z | x) are exact,
which makes them the ground truth for checking variational estimators: a VAE with a linear decoder
and Gaussian noise *is* one of these models, and its importance-sampled log p(x) must approach
:func:`linear_gaussian_logpdf`.

Stable evaluation (scoring never forms a D x D matrix)
-----------------------------------------------------
Whiten by the noise, y = Psi^{-1/2} (x - mu) and A = Psi^{-1/2} W (D, K).  With
M = I_K + A^T A (K, K):

    posterior       p(z | x) = N(m(x), M^{-1}),            m(x) = M^{-1} A^T y
    log-determinant log det C = sum_d log psi_d + log det M            (matrix determinant lemma)
    quadratic form  (x - mu)^T C^{-1} (x - mu) = ||y - A m(x)||^2 + ||m(x)||^2      (Woodbury)

The quadratic form is written as a sum of two non-negative terms, a whitened reconstruction error of
the posterior mean plus its prior penalty, so it never subtracts two large numbers as the textbook
Woodbury form ||y||^2 - y^T A M^{-1} A^T y does.  m(x) is the ridge-regression solution
argmin_z ||y - A z||^2 + ||z||^2, computed from a thin QR factorisation of the stacked (D + K, K)
matrix [A; I_K] = Q R (so R^T R = M without ever forming A^T A, which would square the condition
number):  m(x) = R^{-1} Q_top^T y,  M^{-1} = R^{-1} R^{-T},  log det M = 2 sum_k log |R_kk|.

Fitting works on a square root B (m, D) of the sample covariance, B^T B = S, m = min(N, D) (the
centred data themselves when N <= D, Lambda^{1/2} U^T from S = U Lambda U^T otherwise), so each
EM iteration costs O(m D K) whatever N is, and the mean log-likelihood
-1/2 [D log 2 pi + log det C + tr(C^{-1} S)] uses the same stable quadratic form on the rows of B.

These are float64 NumPy/SciPy reference implementations; they are not backend-neutral on purpose.
"""
import numbers
import warnings

import numpy as np
from scipy.linalg import cho_factor, cho_solve, solve_triangular

from ..arrays.random import as_generator

__all__ = [
    "PPCA",
    "FactorAnalysis",
    "linear_gaussian_logpdf",
    "linear_gaussian_posterior",
    "ppca_closed_form",
]

_LOG_2PI = np.log(2.0 * np.pi)
_ROW_BLOCK = 4096          # rows per block in score_samples / posterior: bounds the (block, D) temporaries
_NOISE_FLOOR = 1e-12       # noise variances are kept >= _NOISE_FLOOR * (mean feature variance)


# ----------------------------------------------------------------------------------------------
# input checks
# ----------------------------------------------------------------------------------------------
def _check_data(X, name="X", n_features=None, min_rows=1):
    """Return X as a finite float64 (N, D) array, or raise a ValueError naming the problem."""
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array; could not convert it to float64 ({exc}).") from None
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (n_samples, n_features); got shape {X.shape}.")
    if X.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} row(s); got shape {X.shape}.")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features per row but the model has {n_features}.")
    if not np.all(np.isfinite(X)):
        bad = int(np.count_nonzero(~np.isfinite(X)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s).")
    return X


def _check_params(mean, W, noise_var):
    """Validate (mean, W, noise_var) of a linear Gaussian model; return them as float64, psi as (D,)."""
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"W must be a 2-D (n_features, n_components) array; got shape {W.shape}.")
    D, _ = W.shape
    mean = np.asarray(mean, dtype=np.float64)
    if mean.shape != (D,):
        raise ValueError(f"mean must have shape ({D},) to match W of shape {W.shape}; got {mean.shape}.")
    psi = np.asarray(noise_var, dtype=np.float64)
    if psi.ndim == 0:
        psi = np.full(D, float(psi))                                   # (D,)  sigma^2 I
    elif psi.shape != (D,):
        raise ValueError(f"noise_var must be a scalar or have shape ({D},); got shape {psi.shape}.")
    for name, a in (("mean", mean), ("W", W), ("noise_var", psi)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or infinite values.")
    if np.any(psi <= 0):
        raise ValueError("noise_var must be strictly positive.")
    return mean, W, psi


# ----------------------------------------------------------------------------------------------
# the stable core: one factorisation per parameter setting, then O(N D K) per batch of rows
# ----------------------------------------------------------------------------------------------
def _factorize(W, psi):
    """Whitened factorisation of the model with loadings W (D, K) and noise variances psi (D,).

    Returns a dict with
      inv_sqrt_psi (D,), A = Psi^{-1/2} W (D, K), Q_top (D, K), R (K, K) upper triangular with
      [A; I] = Q R, logdet_C (scalar) = sum log psi + log det M.
    """
    D, K = W.shape
    inv_sqrt_psi = 1.0 / np.sqrt(psi)                                  # (D,)
    A = W * inv_sqrt_psi[:, None]                                      # (D, K)
    Q, R = np.linalg.qr(np.vstack([A, np.eye(K)]))                     # Q (D+K, K), R (K, K); R^T R = M
    logdet_M = 2.0 * np.sum(np.log(np.abs(np.diag(R))))                # log det (I + A^T A)
    logdet_C = np.sum(np.log(psi)) + logdet_M                          # matrix determinant lemma
    return {"inv_sqrt_psi": inv_sqrt_psi, "A": A, "Q_top": Q[:D], "R": R, "logdet_C": logdet_C}


def _posterior_mean_and_quad(Xc, fact):
    """Posterior means m(x) (N, K) and quadratic forms x^T C^{-1} x (N,) for centred rows Xc (N, D)."""
    Y = Xc * fact["inv_sqrt_psi"]                                      # (N, D)  y = Psi^{-1/2} x
    Z = solve_triangular(fact["R"], (Y @ fact["Q_top"]).T).T           # (N, K)  m = R^{-1} Q_top^T y
    resid = Y - Z @ fact["A"].T                                        # (N, D)  y - A m
    quad = np.sum(resid * resid, axis=1) + np.sum(Z * Z, axis=1)       # (N,)    ||y - A m||^2 + ||m||^2
    return Z, quad


def _posterior_cov(fact):
    """Posterior covariance M^{-1} = R^{-1} R^{-T} (K, K), the same for every x."""
    R_inv = solve_triangular(fact["R"], np.eye(fact["R"].shape[0]))   # (K, K)
    return R_inv @ R_inv.T                                             # (K, K)


def _logpdf_rows(X, mean, W, psi):
    """log N(x | mean, W W^T + diag(psi)) for every row of X (N, D) -> (N,), in row blocks."""
    fact = _factorize(W, psi)
    D = W.shape[0]
    out = np.empty(X.shape[0])                                         # (N,)
    for start in range(0, X.shape[0], _ROW_BLOCK):
        block = X[start:start + _ROW_BLOCK] - mean                     # (n, D)
        _, quad = _posterior_mean_and_quad(block, fact)               # (n,)
        out[start:start + _ROW_BLOCK] = -0.5 * (D * _LOG_2PI + fact["logdet_C"] + quad)
    return out


def _posterior_rows(X, mean, W, psi):
    """Posterior means (N, K) and the shared posterior covariance (K, K)."""
    fact = _factorize(W, psi)
    Z = np.empty((X.shape[0], W.shape[1]))                             # (N, K)
    for start in range(0, X.shape[0], _ROW_BLOCK):
        Z[start:start + _ROW_BLOCK], _ = _posterior_mean_and_quad(X[start:start + _ROW_BLOCK] - mean, fact)
    return Z, _posterior_cov(fact)


def linear_gaussian_logpdf(X, mean, W, noise_var):
    r"""Exact log-density of rows of X under x ~ N(mean, W W^T + Psi).

    log p(x) = -1/2 [ D log 2 pi + log det C + (x - mean)^T C^{-1} (x - mean) ],  C = W W^T + Psi,
    evaluated through the K x K matrix M = I + W^T Psi^{-1} W (see the module docstring), in
    O(N D K + D K^2) time and without forming C.

    Parameters
    ----------
    X : array_like, shape (N, D)
    mean : array_like, shape (D,)
    W : array_like, shape (D, K)
        Loadings (decoder weights of a linear-Gaussian decoder).
    noise_var : float or array_like of shape (D,)
        Psi: a scalar sigma^2 (Psi = sigma^2 I) or the diagonal psi. Strictly positive.

    Returns
    -------
    logpdf : ndarray, shape (N,)
    """
    mean, W, psi = _check_params(mean, W, noise_var)
    X = _check_data(X, n_features=W.shape[0])
    return _logpdf_rows(X, mean, W, psi)


def linear_gaussian_posterior(X, mean, W, noise_var):
    r"""Exact posterior p(z | x) = N(m(x), Sigma) of the linear Gaussian model.

    m(x) = M^{-1} W^T Psi^{-1} (x - mean),   Sigma = M^{-1},   M = I_K + W^T Psi^{-1} W.
    The covariance does not depend on x.

    Parameters
    ----------
    X : array_like, shape (N, D)
    mean : array_like, shape (D,)
    W : array_like, shape (D, K)
    noise_var : float or array_like of shape (D,)

    Returns
    -------
    mean_z : ndarray, shape (N, K)
    cov_z : ndarray, shape (K, K)
    """
    mean, W, psi = _check_params(mean, W, noise_var)
    X = _check_data(X, n_features=W.shape[0])
    return _posterior_rows(X, mean, W, psi)


# ----------------------------------------------------------------------------------------------
# fitting helpers
# ----------------------------------------------------------------------------------------------
def _cov_sqrt(Xc):
    """B (m, D) with B^T B = S = Xc^T Xc / N and m = min(N, D), for centred data Xc (N, D).

    N <= D: B = Xc / sqrt(N).  N > D: B = Lambda^{1/2} U^T from the eigendecomposition S = U Lambda U^T
    (one GEMM and a D x D eigh, several times faster than a QR of the data; eigenvalues that round-off
    makes slightly negative are set to 0).
    """
    N, D = Xc.shape
    if N <= D:
        return Xc / np.sqrt(N)                                         # (N, D)
    S = (Xc.T @ Xc) / N                                                # (D, D)
    lam, U = np.linalg.eigh(S)                                         # (D,), (D, D)
    return np.sqrt(np.maximum(lam, 0.0))[:, None] * U.T                # (D, D)


def _mean_loglik(B, W, psi):
    """Mean log-likelihood -1/2 [D log 2 pi + log det C + tr(C^{-1} S)] and the E-step quantities."""
    fact = _factorize(W, psi)
    Zb, quad = _posterior_mean_and_quad(B, fact)                       # (m, K), (m,)
    ll = -0.5 * (W.shape[0] * _LOG_2PI + fact["logdet_C"] + np.sum(quad))   # sum_j quad(b_j) = tr(C^{-1} S)
    return ll, Zb, fact


def _em_step(B, diag_S, W, Zb, fact, isotropic, floor):
    r"""One EM update of (W, psi) from the E-step at the current parameters.

    With beta = M^{-1} W^T Psi^{-1} (posterior-mean map) and G = M^{-1} (posterior covariance):
      E[z z^T] averaged over data   Ezz = G + beta S beta^T = G + Zb^T Zb          (K, K)
      S beta^T                       = B^T Zb                                       (D, K)
      W_new   = S beta^T Ezz^{-1}                                                   (D, K)
      psi_new = diag(S - W_new beta S) = diag(S) - rowsum(W_new * S beta^T)         (D,)
    PPCA (isotropic) replaces psi_new by its mean, sigma^2 = tr(S - W_new beta S) / D
    (Tipping & Bishop 1999, eqs. 29-30).
    """
    Ezz = _posterior_cov(fact) + Zb.T @ Zb                             # (K, K)
    S_betaT = B.T @ Zb                                                 # (D, K)
    W_new = cho_solve(cho_factor(Ezz), S_betaT.T).T                    # (D, K)  S beta^T Ezz^{-1}
    psi_new = diag_S - np.sum(W_new * S_betaT, axis=1)                 # (D,)   >= 0 (a Schur complement)
    if isotropic:
        psi_new = np.full_like(psi_new, np.mean(psi_new))              # (D,)
    return W_new, np.maximum(psi_new, floor)


def ppca_closed_form(X, n_components):
    r"""Maximum-likelihood probabilistic PCA in closed form (Tipping & Bishop 1999, eqs. 7-8).

    With lambda_1 >= ... >= lambda_D the eigenvalues of the sample covariance S and U_K the
    leading eigenvectors,

        sigma^2 = (1 / (D - K)) sum_{j > K} lambda_j,      W = U_K (Lambda_K - sigma^2 I)^{1/2},

    unique up to a rotation W R of the latent space (this returns R = I).  The eigenpairs come from
    a thin SVD of the centred data when N <= D, or of a square root of S when N > D.

    Parameters
    ----------
    X : array_like, shape (N, D)
    n_components : int
        K, with 1 <= K < D.

    Returns
    -------
    W : ndarray, shape (D, K)
    mean : ndarray, shape (D,)
    noise_variance : float
    """
    X = _check_data(X, min_rows=2)
    K = _check_n_components(n_components, X.shape[1])
    mean = X.mean(axis=0)                                              # (D,)
    W, sigma2 = _ppca_closed_form_centred(_cov_sqrt(X - mean), K)
    return W, mean, sigma2


def _ppca_closed_form_centred(B, K):
    D = B.shape[1]
    _, s, Vt = np.linalg.svd(B, full_matrices=False)                   # s (m,), Vt (m, D)
    lam = s * s                                                        # (m,)  eigenvalues of S (the rest are 0)
    total = np.sum(B * B)                                              # tr S
    sigma2 = (total - np.sum(lam[:K])) / (D - K)                       # mean of the discarded eigenvalues
    if not sigma2 > _NOISE_FLOOR * total / D:
        raise ValueError(
            f"The data lie (numerically) in a subspace of dimension <= n_components={K}, so the "
            "maximum-likelihood noise variance is zero; use fewer components.")
    W = Vt[:K].T * np.sqrt(np.maximum(lam[:K] - sigma2, 0.0))          # (D, K)
    return W, float(sigma2)


def _check_n_components(n_components, D):
    if not isinstance(n_components, numbers.Integral) or isinstance(n_components, bool):
        raise ValueError(f"n_components must be an integer; got {n_components!r}.")
    if not 1 <= n_components < D:
        raise ValueError(f"n_components must satisfy 1 <= n_components < n_features={D}; got {n_components}.")
    return int(n_components)


# ----------------------------------------------------------------------------------------------
# estimators
# ----------------------------------------------------------------------------------------------
class _LinearGaussianModel:
    """Shared inference for fitted linear Gaussian models (learned state W_, mean_, noise_variance_)."""

    _isotropic = False

    def _check_fitted(self):
        if not hasattr(self, "W_"):
            raise ValueError(f"This {type(self).__name__} instance is not fitted yet; call fit(X) first.")

    def _psi(self):
        return np.broadcast_to(np.asarray(self.noise_variance_, dtype=np.float64), self.mean_.shape)

    def _check_hyperparameters(self):
        if not isinstance(self.max_iter, numbers.Integral) or isinstance(self.max_iter, bool) or self.max_iter < 1:
            raise ValueError(f"max_iter must be a positive integer; got {self.max_iter!r}.")
        if not (isinstance(self.tol, numbers.Real) and self.tol >= 0):
            raise ValueError(f"tol must be a non-negative number; got {self.tol!r}.")

    def _fit_em(self, X, W_init=None):
        """EM from a random start; fills W_, mean_, noise_variance_, n_iter_, loglik_curve_."""
        self._check_hyperparameters()
        X = _check_data(X, min_rows=2)
        N, D = X.shape
        K = _check_n_components(self.n_components, D)
        rng = as_generator(self.rng)
        mean = X.mean(axis=0)                                          # (D,)
        B = _cov_sqrt(X - mean)                                        # (m, D)  B^T B = S
        diag_S = np.sum(B * B, axis=0)                                 # (D,)
        avg_var = float(np.mean(diag_S))
        if not avg_var > 0:
            raise ValueError("X has zero variance in every feature; there is nothing to fit.")
        floor = _NOISE_FLOOR * avg_var

        # start: random loadings of the data's scale, noise = the feature variances
        W = rng.standard_normal((D, K)) * np.sqrt(avg_var / K)         # (D, K)
        psi = np.full(D, avg_var) if self._isotropic else np.maximum(diag_S, floor)   # (D,)

        ll, Zb, fact = _mean_loglik(B, W, psi)
        curve = []
        converged = False
        for _ in range(self.max_iter):
            W, psi = _em_step(B, diag_S, W, Zb, fact, self._isotropic, floor)
            ll_new, Zb, fact = _mean_loglik(B, W, psi)
            curve.append(ll_new)
            gain, ll = ll_new - ll, ll_new
            if gain <= self.tol * abs(ll):
                converged = True
                break
        if not converged:
            warnings.warn(
                f"{type(self).__name__} EM did not converge in max_iter={self.max_iter} iterations "
                f"(last relative increase {gain / abs(ll):.3g} > tol={self.tol}); "
                "increase max_iter or tol.", RuntimeWarning, stacklevel=3)

        self.W_ = W
        self.mean_ = mean
        self.noise_variance_ = float(psi[0]) if self._isotropic else psi
        self.n_iter_ = len(curve)
        self.loglik_curve_ = np.asarray(curve)
        self.converged_ = converged
        return self

    def get_covariance(self):
        """Model covariance C = W W^T + Psi, shape (D, D)."""
        self._check_fitted()
        return self.W_ @ self.W_.T + np.diag(self._psi())

    def score_samples(self, X):
        """Exact log-likelihood log p(x) of each row, shape (N,).  See :func:`linear_gaussian_logpdf`."""
        self._check_fitted()
        X = _check_data(X, n_features=self.mean_.shape[0])
        return _logpdf_rows(X, self.mean_, self.W_, self._psi())

    def score(self, X):
        """Mean log-likelihood of the rows of X (a float)."""
        return float(np.mean(self.score_samples(X)))

    def posterior(self, X):
        """Exact posterior p(z | x): means (N, K) and the shared covariance (K, K)."""
        self._check_fitted()
        X = _check_data(X, n_features=self.mean_.shape[0])
        return _posterior_rows(X, self.mean_, self.W_, self._psi())

    def transform(self, X):
        """Posterior means E[z | x], shape (N, K)."""
        return self.posterior(X)[0]

    def sample(self, n_samples, rng):
        """Draw n_samples rows x = W z + mean + Psi^{1/2} eps with z, eps standard normal.

        Parameters
        ----------
        n_samples : int
        rng : numpy.random.Generator or int
            Source of randomness (an int is used as a seed).

        Returns
        -------
        X : ndarray, shape (n_samples, D)
        """
        self._check_fitted()
        if not isinstance(n_samples, numbers.Integral) or isinstance(n_samples, bool) or n_samples < 0:
            raise ValueError(f"n_samples must be a non-negative integer; got {n_samples!r}.")
        rng = as_generator(rng)
        D, K = self.W_.shape
        z = rng.standard_normal((n_samples, K))                        # (n, K)
        eps = rng.standard_normal((n_samples, D))                      # (n, D)
        return z @ self.W_.T + self.mean_ + eps * np.sqrt(self._psi())  # (n, D)


class PPCA(_LinearGaussianModel):
    r"""Probabilistic PCA (Tipping & Bishop 1999): x ~ N(mean, W W^T + sigma^2 I).

    Parameters
    ----------
    n_components : int
        Latent dimension K, 1 <= K < D.
    method : {"em", "closed_form"}, default "em"
        "closed_form" takes the maximum-likelihood solution from the eigendecomposition of the
        sample covariance (:func:`ppca_closed_form`); "em" runs the EM algorithm of Tipping & Bishop
        (section 3.2), which reaches the same log-likelihood.  EM converges linearly; along an
        eigen-direction with eigenvalue lambda its rate is 1 - 2 sigma^2 (lambda - sigma^2) / lambda^2,
        so it is slow when the leading eigenvalues dwarf the noise (use the closed form there).
    max_iter : int, default 1000
        Maximum number of EM iterations.
    tol : float, default 1e-10
        Source of the random initial loadings for EM (default seed 0, so repeated fits agree; None: fresh entropy).
    rng : numpy.random.Generator or int, optional
        Source of the random initial loadings for EM; None uses seed 0 so repeated fits agree.

    Attributes
    ----------
    W_ : ndarray, shape (D, K)
        Loadings; identifiable only up to a rotation W_ R.
    mean_ : ndarray, shape (D,)
    noise_variance_ : float
        sigma^2.
    n_iter_ : int
        EM iterations run (0 for the closed form).
    loglik_curve_ : ndarray, shape (n_iter_,)
        Mean training log-likelihood after each EM iteration; non-decreasing.  For the closed form,
        a single entry: the optimum.
    converged_ : bool
    """

    _isotropic = True

    def __init__(self, n_components, method="em", max_iter=1000, tol=1e-10, rng=0):
        self.n_components = n_components
        self.method = method
        self.max_iter = max_iter
        self.tol = tol
        self.rng = rng

    def fit(self, X):
        """Fit by maximum likelihood; returns self."""
        if self.method == "em":
            return self._fit_em(X)
        if self.method != "closed_form":
            raise ValueError(f"Unknown method {self.method!r} for PPCA; use 'em' or 'closed_form'.")
        X = _check_data(X, min_rows=2)
        K = _check_n_components(self.n_components, X.shape[1])
        mean = X.mean(axis=0)                                          # (D,)
        B = _cov_sqrt(X - mean)                                        # (m, D)
        W, sigma2 = _ppca_closed_form_centred(B, K)
        ll, _, _ = _mean_loglik(B, W, np.full(X.shape[1], sigma2))
        self.W_, self.mean_, self.noise_variance_ = W, mean, sigma2
        self.n_iter_ = 0
        self.loglik_curve_ = np.array([ll])
        self.converged_ = True
        return self


class FactorAnalysis(_LinearGaussianModel):
    r"""Factor analysis fitted by EM (Rubin & Thayer 1982): x ~ N(mean, W W^T + diag(psi)).

    Parameters
    ----------
    n_components : int
        Latent dimension K, 1 <= K < D.
    max_iter : int, default 1000
    tol : float, default 1e-10
        EM stops when one iteration raises the mean log-likelihood by at most tol * |loglik|.
    rng : numpy.random.Generator or int, optional
        Source of the random initial loadings; None uses seed 0 so repeated fits agree.

    Attributes
    ----------
    W_ : ndarray, shape (D, K)
        Loadings; identifiable only up to a rotation W_ R.
    mean_ : ndarray, shape (D,)
    noise_variance_ : ndarray, shape (D,)
        psi, the per-feature noise variances.  Each is kept >= 1e-12 times the mean feature
        variance, which binds only for (near-)constant features (Heywood cases).
    n_iter_ : int
    loglik_curve_ : ndarray, shape (n_iter_,)
        Mean training log-likelihood after each EM iteration; non-decreasing.
    converged_ : bool
    """

    def __init__(self, n_components, max_iter=1000, tol=1e-10, rng=0):
        self.n_components = n_components
        self.max_iter = max_iter
        self.tol = tol
        self.rng = rng

    def fit(self, X):
        """Fit by EM; returns self."""
        return self._fit_em(X)
