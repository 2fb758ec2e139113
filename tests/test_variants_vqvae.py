"""VQ-VAE: each piece that is a true gradient is checked by finite differences, the straight-through
wiring is tested explicitly, and the whole gradient is the exact gradient of the straight-through
surrogate loss."""
import numpy as np
import pytest

from numpyvae.gradcheck import check_gradients
from numpyvae.models import VQVAE
from numpyvae.ops.quantize import gather_rows_backward, gather_rows_forward, nearest_code

BETA = 0.25


def _model(rng, codebook_update="gradient", likelihood="bernoulli", hidden=(5,)):
    model = VQVAE(6, hidden, n_latents=3, code_dim=2, codebook_size=5, likelihood=likelihood,
                  codebook_update=codebook_update, beta_commit=BETA, rng=rng, init="glorot", sigma=0.7)
    model.params["vq.codebook"][...] = rng.standard_normal((5, 2))  # spread-out codes: assignments are stable
    return model


def _surrogate(model, x):
    """The straight-through surrogate at the current parameters, written with plain NumPy:
    recon(z_e + sg[z_q - z_e]) + w_cb ||sg[z_e] - E[k]||^2 + beta ||z_e - sg[z_q]||^2, k frozen."""
    xv = model._data(x)
    B = xv.shape[0]
    ze0, _ = model._encode(xv)
    idx0 = nearest_code(ze0, model.params["vq.codebook"])
    ze0, zq0 = ze0.copy(), model.params["vq.codebook"][idx0].copy()
    w_cb = 1.0 if model.codebook_update == "gradient" else 0.0

    def loss():
        ze, _ = model._encode(xv)
        out, _ = model.decoder.forward(model.params, (ze + (zq0 - ze0)).reshape(B, -1))
        loglik, _ = model.decoder.log_prob_forward(xv, out)
        e = model.params["vq.codebook"][idx0]
        codebook_loss = ((ze0 - e) ** 2).sum(axis=(1, 2))
        commitment = ((ze - zq0) ** 2).sum(axis=(1, 2))
        return float((-loglik + w_cb * codebook_loss + model.beta_commit * commitment).mean())

    return loss


def test_nearest_code_is_the_brute_force_argmin(rng):
    z = rng.standard_normal((4, 3, 2))
    codebook = rng.standard_normal((7, 2))
    dist = ((z[:, :, None, :] - codebook) ** 2).sum(-1)            # (4, 3, 7)
    np.testing.assert_array_equal(nearest_code(z, codebook), dist.argmin(-1))


def test_gather_rows_backward_accumulates_repeated_rows(rng):
    table = rng.standard_normal((4, 2))
    idx = np.array([[1, 1], [3, 1]])
    out, cache = gather_rows_forward(table, idx)
    np.testing.assert_array_equal(out, table[idx])
    d = rng.standard_normal((2, 2, 2))
    dtable = gather_rows_backward(d, cache)
    np.testing.assert_allclose(dtable[1], d[0, 0] + d[0, 1] + d[1, 1])
    np.testing.assert_allclose(dtable[3], d[1, 0])
    np.testing.assert_array_equal(dtable[[0, 2]], 0.0)
    with pytest.raises(ValueError, match="integers"):
        gather_rows_forward(table, np.array([0.0, 1.0]))


@pytest.mark.parametrize("codebook_update", ["gradient", "ema"])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_whole_gradient_is_the_exact_gradient_of_the_straight_through_surrogate(codebook_update, likelihood, rng):
    model = _model(rng, codebook_update, likelihood)
    x = rng.uniform(size=(4, 6))
    loss_fn = _surrogate(model, x)
    terms, cache = model.forward(model._data(x))
    grads = model.backward(np.full(4, 0.25), cache)                  # d mean / d loss_b = 1/B
    assert loss_fn() == pytest.approx(float(terms["loss"].mean()), rel=1e-12)  # same value here
    report = check_gradients(loss_fn, model.params, grads, rng=0)
    assert report.passed(1e-6), report.table()
    if codebook_update == "ema":
        assert not grads["vq.codebook"].any()


def test_decoder_gradient_is_a_true_gradient_of_the_loss(rng):
    # the decoder does not influence the code assignment, so the real loss is smooth in its parameters
    model = _model(rng)
    x = model._data(rng.uniform(size=(4, 6)))
    _, grads = model.loss_and_grads(x)
    dec = {name: p for name, p in model.params.items() if name.startswith("dec.")}
    report = check_gradients(lambda: float(model.forward(x)[0]["loss"].mean()), dec, grads, rng=0)
    assert report.passed(1e-6), report.table()


def test_codebook_gradient_is_the_true_gradient_of_the_codebook_loss(rng):
    model = _model(rng)
    x = model._data(rng.uniform(size=(4, 6)))
    ze, _ = model._encode(x)
    ze = ze.copy()
    _, grads = model.loss_and_grads(x)

    def codebook_loss():                                             # mean_b ||sg[z_e] - e_k||^2, k = nearest
        idx = nearest_code(ze, model.params["vq.codebook"])
        return float(((ze - model.params["vq.codebook"][idx]) ** 2).sum(axis=(1, 2)).mean())

    report = check_gradients(codebook_loss, {"vq.codebook": model.params["vq.codebook"]}, grads, rng=0)
    assert report.passed(1e-6), report.table()


def test_straight_through_copies_the_decoder_gradient_onto_the_encoder_output(rng):
    model = _model(rng)
    x = model._data(rng.uniform(size=(3, 6)))
    B = 3
    _, grads = model.loss_and_grads(x)
    ze, _ = model._encode(x)
    zq = model.params["vq.codebook"][nearest_code(ze, model.params["vq.codebook"])]

    def recon(zq_flat):                                              # mean_b -log p(x_b | z_q,b)
        out, _ = model.decoder.forward(model.params, zq_flat.reshape(B, -1))
        return float(-model.decoder.log_prob_forward(x, out)[0].mean())

    h, step = zq.reshape(-1), 1e-6
    dzq = np.array([(recon(h + step * e) - recon(h - step * e)) / (2 * step) for e in np.eye(h.size)])
    dze = dzq.reshape(zq.shape) + BETA * 2 * (ze - zq) / B          # straight-through + commitment
    # enc.z is the layer that outputs z_e, so d loss / d enc.z.b = sum_b d loss / d z_e,b
    np.testing.assert_allclose(grads["enc.z.b"], dze.reshape(B, -1).sum(axis=0), rtol=1e-6, atol=1e-10)
    # and without the straight-through copy the encoder would get the commitment term only
    assert np.abs(grads["enc.z.b"] - (BETA * 2 * (ze - zq) / B).reshape(B, -1).sum(axis=0)).max() > 1e-3


def test_the_surrogate_check_catches_a_broken_straight_through(monkeypatch, rng):
    import numpyvae.models.vqvae as vqvae

    original = vqvae.squared_error_backward

    def half_commitment(dse, diff):                                  # commitment gradient halved
        dze, dzq = original(dse, diff)
        return 0.5 * dze, dzq

    monkeypatch.setattr(vqvae, "squared_error_backward", half_commitment)
    model = _model(rng)
    x = rng.uniform(size=(4, 6))
    loss_fn = _surrogate(model, x)
    _, grads = model.loss_and_grads(x)
    report = check_gradients(loss_fn, model.params, grads, rng=0)
    failed = {r.name for r in report.failures(1e-6)}
    assert "enc.z.W" in failed and "vq.codebook" not in failed and "dec.logits.W" not in failed


def test_ema_update_moves_codes_towards_the_mean_of_their_encoder_outputs(rng):
    model = _model(rng, "ema")
    model.ema_decay = 0.5
    x = model._data(rng.uniform(size=(8, 6)))
    ze, _ = model._encode(x)
    idx = nearest_code(ze, model.params["vq.codebook"])
    old = model.params["vq.codebook"].copy()
    model.loss_and_grads(x)
    new = model.params["vq.codebook"]
    for k in range(5):
        assigned = ze[idx == k]                                        # (n_k, d)
        if len(assigned) == 0:
            np.testing.assert_allclose(new[k], old[k], rtol=1e-4)      # unused codes keep their value
            continue
        count = 0.5 * 1 + 0.5 * len(assigned)                          # counts start at 1
        expected = (0.5 * old[k] * 1 + 0.5 * assigned.sum(axis=0)) / count
        np.testing.assert_allclose(new[k], expected, rtol=1e-4)        # up to the 1e-5 Laplace smoothing


def test_perplexity_prior_fit_and_sampling(rng):
    model = _model(rng)
    x = rng.uniform(size=(50, 6))
    usage = model.codebook_usage(x)
    p = usage["counts"] / usage["counts"].sum()
    assert usage["counts"].sum() == 50 * 3
    assert usage["perplexity"] == pytest.approx(np.exp(-(p[p > 0] * np.log(p[p > 0])).sum()))
    assert 1.0 <= usage["perplexity"] <= 5.0
    with pytest.raises(ValueError, match="fit_prior"):
        model.sample(2)
    model.fit_prior(x, smoothing=0.0)
    logp = model.buffers["vq.prior_logprobs"]
    codes = model.encode(x)
    for m in range(3):
        freq = np.bincount(codes[:, m], minlength=5) / 50
        np.testing.assert_allclose(np.exp(logp[m]), freq, atol=1e-12)
    drawn = model.sample_codes(20_000, rng=0)                       # (n, M) with the fitted frequencies
    for m in range(3):
        freq = np.bincount(drawn[:, m], minlength=5) / 20_000
        p = np.exp(logp[m])
        assert np.all(np.abs(freq - p) < 4 * np.sqrt(p * (1 - p) / 20_000) + 1e-12), (freq, p)
    s = model.sample(7, rng=0)
    assert s.shape == (7, 6) and np.all((s > 0) & (s < 1))


def test_score_and_elbo_are_per_datapoint(rng):
    model = _model(rng)
    x = rng.uniform(size=(4, 6))
    terms, _ = model.forward(model._data(x))
    np.testing.assert_allclose(model.training_loss(x), terms["loss"])
    np.testing.assert_allclose(model.elbo(x), terms["loglik"] - 3 * np.log(5))
    with pytest.raises(ValueError, match="deterministic"):
        model.loss_and_grads(x, eps=np.zeros((1, 4, 6)))


@pytest.mark.parametrize("codebook_update", ["gradient", "ema"])
def test_training_lowers_the_loss_and_uses_several_codes(codebook_update):
    import numpyvae as nv

    rng = np.random.default_rng(0)
    protos = (rng.uniform(size=(6, 16)) > 0.5).astype(float)
    x = protos[rng.integers(0, 6, 300)]
    model = VQVAE(16, (12,), n_latents=2, code_dim=3, codebook_size=8, codebook_update=codebook_update, rng=0,
                  init="glorot")
    opt = nv.Adam(lr=1e-2)
    start = model.training_loss(x).mean()
    for _ in range(300):
        _, grads = model.loss_and_grads(x[rng.integers(0, 300, 50)])
        opt.step(model.params, grads)
    assert model.training_loss(x).mean() < 0.7 * start
    assert model.codebook_usage(x)["n_used"] >= 3
