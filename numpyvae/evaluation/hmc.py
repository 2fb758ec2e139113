r"""Hamiltonian (Hybrid) Monte Carlo over the latent variables of one datapoint per chain.

Target: the posterior p(z | x) proportional to p(x, z), through the potential energy
U(z) = -log p(x, z) and its gradient (:func:`numpyvae.models.log_joint.log_joint`). Each datapoint of a
batch runs its own chain with its own step size; the chains share nothing but the array ops.

One transition (Duane et al. 1987; Neal 2011), with momentum r ~ N(0, I):

    r <- r - (eps/2) grad U(z)
    repeat n_leapfrog times:  z <- z + eps r;  r <- r - eps grad U(z)   (the last momentum step is a half step)
    accept (z', r') with probability min(1, exp(H(z, r) - H(z', r'))),  H = U + |r|^2 / 2

The step size is adapted (during burn-in, or throughout for Monte Carlo EM as in K&W appendix E)
towards a target acceptance probability, 0.9 by default, with the stochastic-approximation rule
log eps <- log eps + gain * (a - target), a the chain's acceptance probability of the last
transition. A transition with a non-finite energy is rejected.

A posterior can have several modes that a chain does not cross between (a decoder fitted without a
recognition model, as by Monte Carlo EM, folds its manifold so that one image has several latent
regions). The burn-in of :class:`HMCSampler` therefore starts with a *search*: for every datapoint b,
K = ``n_starts`` chains, the given start z_b and K - 1 draws from the prior N(0, I), make
T = ``n_search`` adapted transitions. Over the last S = ceil(T/2) of them, each chain's mode gets the
Gaussian estimate of its share of the evidence log int_{mode k} p(x_b, z) dz,

    score_bk = (1/S) sum_t log p(x_b, z_bk^(t)) + sum_j (1/2) log(2 pi e var_t(z_bkj^(t))),

the mean log-joint plus the entropy of a Gaussian with the states' per-dimension variances (the mean
alone would not tell a wide mode from a narrow one of the same height). The chain with the highest
score is kept, and the burn-in continues from it with its step size. The kept chain is still an HMC
chain: the search only picks its starting point. The defaults, K = 16 and T = 30, are what the
appendix-D estimator (:mod:`numpyvae.evaluation.marginal_likelihood`) uses; on the MCEM models of
K&W's Figure 3 they match an estimate that keeps every mode, where a single chain from the encoder
mean was 20-33 nats short, and they make the estimator about 2 times slower (docs/reproduction/mcem.md).
"""
import numpy as np

from ..arrays.validation import check_interval, check_positive, check_positive_int
from ..models.log_joint import log_joint

DEFAULT_TARGET_ACCEPT = 0.9
DEFAULT_N_STARTS = 16
DEFAULT_N_SEARCH = 30


def potential_and_grad(model, x, z, need_value=True):
    r"""U(z_b) = -log p(x_b, z_b) and dU/dz_b for every chain.   Shapes: (B, D), (B, Z) -> (B,), (B, Z).

    The decoder's parameter gradients are not computed (``need_params=False``): the chains need dU/dz alone.
    ``need_value=False`` skips U itself (returned as None): the leapfrog steps inside a trajectory use
    only the gradient, and on a Bernoulli decoder the value is a third of the work.
    """
    ones = model.backend.xp.ones(x.shape[0], dtype=model.dtype)      # per-datapoint gradient (w_b = 1)
    logp, _, dz = log_joint(model, x, z, ones, need_params=False, need_value=need_value)
    return (None if logp is None else -logp), -dz


def leapfrog(model, x, z, r, step_size, n_steps, grad_u=None):
    r"""``n_steps`` leapfrog steps of size ``step_size`` (B,) from (z, r). Returns z, r, U(z), grad U(z).

    ``grad_u`` is dU/dz at the start, if already known; U is formed at the end point only. The map is
    volume-preserving and reversible: running it again from (z', -r') returns to (z, -r) up to round-off.
    """
    eps = step_size[:, None]                                          # (B, 1)
    if grad_u is None:
        _, grad_u = potential_and_grad(model, x, z, need_value=False)
    r = r - 0.5 * eps * grad_u                                        # (B, Z)  half step in momentum
    for i in range(n_steps):
        z = z + eps * r                                               # (B, Z)  full step in position
        u, grad_u = potential_and_grad(model, x, z, need_value=i == n_steps - 1)   # U at the end only
        if i < n_steps - 1:
            r = r - eps * grad_u                                      # full step in momentum
    r = r - 0.5 * eps * grad_u                                        # final half step
    return z, r, u, grad_u


def hmc_transition(model, x, z, step_size, rng, n_leapfrog=10, jitter=0.2):
    r"""One HMC transition of every chain.

    Parameters
    ----------
    model : VAE
    x : array (B, D)
    z : array (B, Z)
        Current states.
    step_size : array (B,)
    rng : numpy.random.Generator
        Draws the momenta and the accept/reject uniforms.
    n_leapfrog : int
    jitter : float
        Each transition uses step_size * u, u ~ Uniform(1 - jitter, 1 + jitter) per chain, which
        breaks the periodic trajectories a fixed step size can fall into (Neal 2011, section 5.4.2.2).

    Returns
    -------
    z_new : array (B, Z)
    accept_prob : ndarray (B,)
        min(1, exp(-Delta H)) (0 where the proposal's energy is not finite).
    """
    n_leapfrog = check_positive_int("n_leapfrog", n_leapfrog)
    jitter = check_interval("jitter", jitter, 0, 1)
    xp = model.backend.xp
    r0 = model.backend.standard_normal(rng, z.shape, model.dtype)    # (B, Z)
    u0, grad0 = potential_and_grad(model, x, z)
    eps = step_size * rng.uniform(1.0 - jitter, 1.0 + jitter, size=np.shape(step_size))   # (B,)
    z1, r1, u1, _ = leapfrog(model, x, z, r0, eps, n_leapfrog, grad0)
    h0 = u0 + 0.5 * xp.sum(r0 * r0, axis=1)                          # (B,)
    h1 = u1 + 0.5 * xp.sum(r1 * r1, axis=1)                          # (B,)
    log_ratio = model.backend.to_numpy(h0 - h1).astype(np.float64)
    finite = np.isfinite(log_ratio) & np.isfinite(model.backend.to_numpy(z1)).all(axis=1)
    accept_prob = np.where(finite, np.exp(np.minimum(np.where(finite, log_ratio, 0.0), 0.0)), 0.0)
    accept = rng.uniform(size=accept_prob.shape) < accept_prob
    z_new = xp.where(xp.asarray(accept)[:, None], z1, z)
    return z_new, accept_prob


def adapt_step_size(step_size, accept_prob, target=DEFAULT_TARGET_ACCEPT, gain=0.1,
                    min_step=1e-6, max_step=10.0):
    r"""log eps <- log eps + gain (a - target), clipped to [min_step, max_step].   (B,) -> (B,)"""
    return np.clip(step_size * np.exp(gain * (accept_prob - target)), min_step, max_step)


class HMCSampler:
    """Batched HMC chains for the posteriors p(z | x_b) of a model, with step-size adaptation.

    Parameters
    ----------
    model : VAE
    n_leapfrog : int
        Leapfrog steps per transition (10 in K&W appendix E).
    target_accept : float
        Acceptance probability the step size is tuned to (0.9 in K&W).
    gain : float
        Adaptation rate of log step size.
    init_step : float
    n_starts : int
        Chains per datapoint in the search that begins a burn-in (1: no search, the chain starts
        where it is given).
    n_search : int
        Transitions of that search; they count towards the burn-in's transitions.

    Examples
    --------
    >>> sampler = HMCSampler(model)
    >>> z, step = sampler.init(x)                      # chains start at the encoder mean
    >>> z, step = sampler.run(x, z, step, 100, rng, adapt=True)     # burn-in (a search, then one chain each)
    >>> samples, z, step = sampler.sample(x, z, step, 200, rng)     # (200, B, Z)
    """

    def __init__(self, model, n_leapfrog=10, target_accept=DEFAULT_TARGET_ACCEPT, gain=0.1, init_step=0.1,
                 n_starts=DEFAULT_N_STARTS, n_search=DEFAULT_N_SEARCH):
        self.model = model
        self.n_leapfrog = check_positive_int("n_leapfrog", n_leapfrog)
        self.target_accept = check_interval("target_accept", target_accept, 0, 1, closed="neither")
        self.gain = check_positive("gain", gain)
        self.init_step = check_positive("init_step", init_step)
        self.n_starts = check_positive_int("n_starts", n_starts)
        self.n_search = check_positive_int("n_search", n_search)

    def init(self, x):
        """Start every chain at the recognition model's mean, with the initial step size."""
        mu, _ = self.model.encode(x)
        return mu, np.full(mu.shape[0], self.init_step)

    def search(self, x, z, step_size, n_transitions, rng):
        r"""The multi-start search (module docstring): K chains per datapoint, keep the best of each.

        Shapes: x (B, D), z (B, Z), step_size (B,) -> z (B, Z), step_size (B,), and the scores
        (B, K) of the module docstring (k = 0: the chain from the given z). ``rng`` draws the K - 1
        prior starts and the transitions' noise.
        """
        n_transitions = check_positive_int("n_transitions", n_transitions)
        model, xp, to_numpy = self.model, self.model.backend.xp, self.model.backend.to_numpy
        K, (B, Z) = self.n_starts, z.shape
        xk = xp.concatenate([x] * K)                                  # (K*B, D)  row k*B + b: start k of b
        zk = xp.concatenate([z, model.backend.standard_normal(rng, ((K - 1) * B, Z), model.dtype)])   # (K*B, Z)
        stepk = np.tile(step_size, K)                                 # (K*B,)
        n_score = -(-n_transitions // 2)                              # S = ceil(T / 2)
        logp_sum = np.zeros(K * B)                                    # (K*B,)
        states = []                                                   # S arrays (K*B, Z)
        self.search_accept_rates_ = []
        for t in range(n_transitions):
            zk, a = hmc_transition(model, xk, zk, stepk, rng, self.n_leapfrog)
            self.search_accept_rates_.append(float(a.mean()))
            stepk = adapt_step_size(stepk, a, self.target_accept, self.gain)
            if t >= n_transitions - n_score:
                logp_sum += to_numpy(log_joint(model, xk, zk)).astype(np.float64)
                states.append(to_numpy(zk).astype(np.float64))
        entropy = 0.0                                                 # one state (T <= 2): no variance
        if n_score > 1:
            var = np.var(np.stack(states), axis=0, ddof=1)            # (K*B, Z)  per-dimension variance
            entropy = 0.5 * np.sum(np.log(2 * np.pi * np.e * np.maximum(var, 1e-300)), axis=1)   # (K*B,)
        score = logp_sum / n_score + entropy                          # (K*B,)  log-evidence of the mode
        score = score.reshape(K, B).T                                 # (B, K)
        rows = np.argmax(score, axis=1) * B + np.arange(B)            # (B,)  the kept chain of each b
        return zk[xp.asarray(rows)], stepk[rows], score

    def run(self, x, z, step_size, n_transitions, rng, adapt=True):
        """``n_transitions`` transitions, adapting the step sizes if ``adapt``. Returns z, step_size.

        An adaptive run is a burn-in: with ``n_starts`` > 1 its first min(``n_search``, ``n_transitions``)
        transitions are the multi-start :meth:`search`.
        """
        n_transitions = check_positive_int("n_transitions", n_transitions, allow_zero=True)
        self.accept_rates_ = []
        if adapt and self.n_starts > 1 and n_transitions > 0:
            n_search = min(self.n_search, n_transitions)
            z, step_size, self.search_scores_ = self.search(x, z, step_size, n_search, rng)
            self.accept_rates_.extend(self.search_accept_rates_)
            n_transitions -= n_search
        for _ in range(n_transitions):
            z, a = hmc_transition(self.model, x, z, step_size, rng, self.n_leapfrog)
            self.accept_rates_.append(float(a.mean()))
            if adapt:
                step_size = adapt_step_size(step_size, a, self.target_accept, self.gain)
        return z, step_size

    def sample(self, x, z, step_size, n_samples, rng, thin=1):
        """Collect ``n_samples`` states, ``thin`` transitions apart, with the step sizes frozen.

        Returns samples (n_samples, B, Z), the last state and the step sizes.
        """
        n_samples = check_positive_int("n_samples", n_samples)
        thin = check_positive_int("thin", thin)
        xp = self.model.backend.xp
        out = []
        accepts = []
        for _ in range(n_samples):
            for _ in range(thin):
                z, a = hmc_transition(self.model, x, z, step_size, rng, self.n_leapfrog)
                accepts.append(float(a.mean()))
            out.append(z)
        self.accept_rate_ = float(np.mean(accepts)) if accepts else float("nan")
        return xp.stack(out), z, step_size
