"""Monte Carlo EM with an HMC E-step, checked on a linear Gaussian model with a known optimum, and the
marginal-likelihood estimator's burn-in on the multimodal posteriors that MCEM's decoders have."""
import functools

import numpy as np
import pytest

import numpyvae as nv
from numpyvae.algorithms import MonteCarloEM, make_algorithm
from numpyvae.evaluation import marginal_likelihood
from numpyvae.evaluation.hmc import HMCSampler, adapt_step_size, hmc_transition
from numpyvae.evaluation.linear_gaussian import PPCA, linear_gaussian_logpdf, linear_gaussian_posterior
from numpyvae.models.log_joint import log_joint
from numpyvae.optim import Adagrad
from _linear_vae import make_data


@pytest.fixture(scope="module")
def ppca_run():
    """MCEM on 200 points of a 5-D, 1-factor PPCA problem: the data, the model before and after, the algorithm."""
    rng = np.random.default_rng(0)
    x = make_data(rng, n=200, d=5, k=1, noise=0.4)
    ppca = PPCA(1, method="closed_form").fit(x)
    sigma2 = ppca.noise_variance_
    model = nv.VAE(5, (), 1, likelihood="gaussian_fixed", sigma=float(np.sqrt(sigma2)), dtype=np.float64, rng=0,
                   init="glorot")
    start = {k: v.copy() for k, v in model.params.items()}
    em = MonteCarloEM(model, len(x), lr=0.1, rng=1)
    train_rng = np.random.default_rng(2)
    for epoch in range(60):
        perm = train_rng.permutation(len(x))
        for i in range(0, len(x), 50):
            idx = perm[i:i + 50]
            em.step(x[idx], train_rng, idx)
    return x, ppca, sigma2, start, em


def _exact(x, params, sigma2):
    return linear_gaussian_logpdf(x, params["dec.mean.b"], params["dec.mean.W"].T, sigma2).mean()


def test_mcem_climbs_to_the_ppca_maximum_likelihood(ppca_run):
    x, ppca, sigma2, start, em = ppca_run
    end = _exact(x, em.model.params, sigma2)
    assert end > _exact(x, start, sigma2) + 1.0
    assert ppca.score(x) - end < 0.1, (ppca.score(x), end)
    assert em.accept_rate_ > 0.75
    assert np.all(em.step_sizes_ > 0.1)                  # acceptance above 90 % grows every chain's step size
    for k, v in start.items():                            # MCEM trains no recognition model
        if k.startswith("enc."):
            np.testing.assert_array_equal(em.model.params[k], v)


def test_mcem_chains_are_draws_from_the_exact_posterior_and_keep_moving(ppca_run):
    """The failure to rule out: step sizes that collapse, chains that freeze and a theta fitted to stale z.
    Here the posterior is known: each chain's state, standardised by the exact posterior of its datapoint
    under the final theta, must look like N(0, 1) draws; the step sizes must stay of the order of the
    posterior's standard deviation; and one more E-step must move the chains by about that much."""
    x, _, sigma2, _, em = ppca_run
    p = em.model.params
    m, C = linear_gaussian_posterior(x, p["dec.mean.b"], p["dec.mean.W"].T, sigma2)      # (N, 1), (1, 1)
    sd = float(np.sqrt(C[0, 0]))
    u = (em.chains_[:, 0] - m[:, 0]) / sd                                              # (N,)
    assert abs(u.mean()) < 0.25 and 0.8 < u.std() < 1.2, (u.mean(), u.std())
    assert np.all((em.step_sizes_ > 0.3 * sd) & (em.step_sizes_ < 10 * sd)), (em.step_sizes_.min(), sd)
    frozen = em.chains_.copy()
    idx = np.arange(50)
    z, _ = hmc_transition(em.model, x[idx], frozen[idx], em.step_sizes_[idx], np.random.default_rng(5))
    assert np.median(np.abs(z - frozen[idx])) > 0.3 * sd


def test_n_transitions_makes_that_many_adapted_transitions_before_the_m_step():
    x = make_data(np.random.default_rng(1), n=40, d=4, k=2)
    idx = np.arange(10, 30)

    def fresh():
        return nv.VAE(4, (3,), 2, likelihood="gaussian_fixed", sigma=0.5, dtype=np.float64, rng=0, init="glorot")

    em = MonteCarloEM(fresh(), len(x), optimizer=Adagrad(lr=0.05), rng=3, n_transitions=3)
    em.step(x[idx], np.random.default_rng(7), idx)
    ref = MonteCarloEM(fresh(), len(x), optimizer=Adagrad(lr=0.05), rng=3, n_weight_updates=5)
    rng = np.random.default_rng(7)
    z, step = ref.chains_[idx], ref.step_sizes_[idx]
    for _ in range(2):                                                 # two by hand, the third inside step()
        z, a = hmc_transition(ref.model, x[idx], z, step, rng, 10)
        step = adapt_step_size(step, a)
    ref.chains_[idx], ref.step_sizes_[idx] = z, step
    ref.step(x[idx], rng, idx)
    np.testing.assert_array_equal(em.chains_, ref.chains_)
    np.testing.assert_array_equal(em.step_sizes_, ref.step_sizes_)
    for k, v in ref.model.params.items():
        np.testing.assert_array_equal(em.model.params[k], v)
    rebuilt = make_algorithm("mcem", fresh(), Adagrad(lr=0.05), n_data=len(x), **em.get_config())
    assert rebuilt.n_transitions == 3                                  # the option travels with checkpoints
    with pytest.raises(ValueError, match="n_transitions"):
        MonteCarloEM(fresh(), len(x), n_transitions=0)


def _two_mode_model():
    r"""A 1-D latent model whose posterior for x = 0 has two separated modes of equal height: a narrow one
    at z ~ -2, where the encoder mean starts the chains, and a wide one at z ~ +2 with ~9 times the mass.

    Decoder mean m(z) = 3 tanh(4 (z + 2)) - 3 tanh((z - 2) / 2) - 3 (zero at z ~ -2, slope ~12, and at
    z = 2, slope 1.5), sigma = 0.3; between the modes log p(x, z) is ~27 nats lower.
    """
    model = nv.VAE(1, (2,), 1, likelihood="gaussian_fixed", sigma=0.3, dtype=np.float64, rng=0)
    p = model.params
    p["dec.0.W"][...] = [[4.0, 0.5]]
    p["dec.0.b"][...] = [8.0, -1.0]
    p["dec.mean.W"][...] = [[3.0], [-3.0]]
    p["dec.mean.b"][...] = [-3.0]
    for k in p:
        if k.startswith("enc.") and k.endswith(".W"):
            p[k][...] = 0.0
    p["enc.mu.b"][...] = -2.0                                          # every chain starts in the narrow mode
    z = np.linspace(-8.0, 8.0, 400001)[:, None]                        # quadrature: log p(x) and each mode's share
    lj = log_joint(model, np.zeros((len(z), 1)), z)
    top = lj.max()
    w = np.exp(lj - top)
    log_px = top + np.log(w.sum() * (z[1, 0] - z[0, 0]))
    return model, log_px, float(np.log(w[z[:, 0] > 0].sum() / w.sum()))


def test_the_estimators_burn_in_finds_the_heavier_of_two_separated_modes():
    """Without the search, the appendix-D estimator from the encoder mean stays in the narrow mode and is
    short by log P(narrow mode) ~ 2.2 nats; with the default search it is short only by the ~0.11 nats of
    mass of the mode it leaves out, as a single-mode fit must be."""
    model, log_px, log_share_wide = _two_mode_model()
    assert log_share_wide > -0.2 and log_px + log_share_wide - (log_px + np.log1p(-np.exp(log_share_wide))) > 2
    x = np.zeros((40, 1))
    est = marginal_likelihood.hmc_marginal_likelihood(model, x, rng=0, n_samples=100, n_burnin=60)
    np.testing.assert_allclose(est, log_px + log_share_wide, atol=0.2)
    no_search = functools.partial(HMCSampler, n_starts=1)
    original = marginal_likelihood.HMCSampler
    marginal_likelihood.HMCSampler = no_search
    try:
        stuck = marginal_likelihood.hmc_marginal_likelihood(model, x, rng=0, n_samples=100, n_burnin=60)
    finally:
        marginal_likelihood.HMCSampler = original
    assert np.all(stuck < log_px - 1.5)                               # what the reproduction's MCEM runs suffered


def test_the_search_keeps_the_chain_of_the_higher_evidence_and_its_step_size():
    model, _, _ = _two_mode_model()
    x = np.zeros((30, 1))
    sampler = HMCSampler(model, n_starts=8, n_search=30)
    z, step = sampler.init(x)
    z, step, scores = sampler.search(x, z, step, 30, np.random.default_rng(1))
    assert scores.shape == (30, 8) and z.shape == (30, 1) and step.shape == (30,)
    assert np.all(z[:, 0] > 1.0)                                       # the wide mode, never the start's
    assert np.all(scores.max(axis=1) > scores[:, 0] + 1.0)            # start 0, the narrow mode, scores lower
    assert np.all((step > 0.01) & (step < 1.0))


def test_mcem_state_round_trip():
    model = nv.VAE(4, (3,), 2, dtype=np.float64, rng=0)
    em = MonteCarloEM(model, 10, rng=0)
    em.chains_[3] = 7.0
    state = em.state_arrays()
    other = MonteCarloEM(model, 10, rng=5)
    other.load_state_arrays(state)
    np.testing.assert_array_equal(other.chains_, em.chains_)
    np.testing.assert_array_equal(other.step_sizes_, em.step_sizes_)
