"""Monte Carlo EM with an HMC E-step, checked on a linear Gaussian model with a known optimum."""
import numpy as np

import numpyvae as nv
from numpyvae.algorithms import MonteCarloEM
from numpyvae.evaluation.linear_gaussian import PPCA, linear_gaussian_logpdf
from _linear_vae import make_data


def test_mcem_climbs_to_the_ppca_maximum_likelihood():
    rng = np.random.default_rng(0)
    x = make_data(rng, n=200, d=5, k=1, noise=0.4)
    ppca = PPCA(1, method="closed_form").fit(x)
    sigma2 = ppca.noise_variance_
    model = nv.VAE(5, (), 1, likelihood="gaussian_fixed", sigma=float(np.sqrt(sigma2)), dtype=np.float64, rng=0,
                   init="glorot")

    def exact():
        return linear_gaussian_logpdf(x, model.params["dec.mean.b"], model.params["dec.mean.W"].T, sigma2).mean()

    start = exact()
    em = MonteCarloEM(model, len(x), lr=0.1, rng=1)
    enc_before = {k: v.copy() for k, v in model.params.items() if k.startswith("enc.")}
    train_rng = np.random.default_rng(2)
    for epoch in range(60):
        perm = train_rng.permutation(len(x))
        for i in range(0, len(x), 50):
            idx = perm[i:i + 50]
            em.step(x[idx], train_rng, idx)
    end = exact()
    assert end > start + 1.0
    assert ppca.score(x) - end < 0.1, (ppca.score(x), end)
    assert em.accept_rate_ > 0.75
    assert np.all(em.step_sizes_ > 0.1)                  # acceptance above 90 % grows every chain's step size
    for k, v in enc_before.items():                       # MCEM trains no recognition model
        np.testing.assert_array_equal(model.params[k], v)


def test_mcem_state_round_trip():
    model = nv.VAE(4, (3,), 2, dtype=np.float64, rng=0)
    em = MonteCarloEM(model, 10, rng=0)
    em.chains_[3] = 7.0
    state = em.state_arrays()
    other = MonteCarloEM(model, 10, rng=5)
    other.load_state_arrays(state)
    np.testing.assert_array_equal(other.chains_, em.chains_)
    np.testing.assert_array_equal(other.step_sizes_, em.step_sizes_)
