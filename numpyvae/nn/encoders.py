r"""Recognition models q(z | x) (K&W section 2.4, appendix C.2).

:class:`GaussianEncoder` maps x through an MLP to the parameters of a diagonal Gaussian,
q(z | x) = N(z; mu, diag(exp(logvar))), with two linear heads on the last hidden layer:

    h = MLP(x);   mu = h W_mu + b_mu;   logvar = h W_logvar + b_logvar

Derivation: docs/derivations.md#mlp-backward
"""
from .layers import MLP, Dense


class GaussianEncoder:
    """Diagonal-Gaussian recognition model.

    Parameters
    ----------
    input_dim : int
    hidden_sizes : sequence of int
        Widths of the hidden layers (may be empty: the heads then read x directly).
    latent_dim : int
    activation : str
    name : str
        Parameter prefix: ``"<name>.<i>.W"``, ``"<name>.mu.W"``, ``"<name>.logvar.W"``, ...
    sparse_input : bool
        The first hidden layer leaves out the columns of x that are zero in every datapoint of the
        minibatch (MNIST's dark pixels; :class:`numpyvae.nn.layers.Dense`): the same numbers up to
        rounding, and for dense inputs the plain product after one check of the columns.
    """

    def __init__(self, input_dim, hidden_sizes, latent_dim, activation, name="enc", sparse_input=True):
        self.trunk = MLP((input_dim, *hidden_sizes), activation, name, sparse_input=sparse_input)
        self.mu_head = Dense(self.trunk.out_dim, latent_dim, f"{name}.mu")
        self.logvar_head = Dense(self.trunk.out_dim, latent_dim, f"{name}.logvar")
        self.latent_dim = int(latent_dim)

    def init_params(self, rng, dtype, init="normal", init_scale=0.01):
        params = self.trunk.init_params(rng, dtype, init, init_scale)
        params.update(self.mu_head.init_params(rng, dtype, init, init_scale))
        params.update(self.logvar_head.init_params(rng, dtype, init, init_scale))
        return params

    def forward(self, params, x, workspace=None):
        """Shapes: x (B, input_dim) -> mu (B, Z), logvar (B, Z)."""
        h, trunk_cache = self.trunk.forward(params, x, workspace)     # (B, H)
        mu, mu_cache = self.mu_head.forward(params, h, workspace)     # (B, Z)
        logvar, logvar_cache = self.logvar_head.forward(params, h, workspace)  # (B, Z)
        return (mu, logvar), (trunk_cache, mu_cache, logvar_cache)

    def backward(self, dmu, dlogvar, cache, workspace=None, need_dx=True):
        """Shapes: dmu (B, Z), dlogvar (B, Z) -> dx (B, input_dim), parameter grads.

        ``need_dx=False`` skips the gradient with respect to the data x (returned as None).
        """
        trunk_cache, mu_cache, logvar_cache = cache
        dh, grads = self.mu_head.backward(dmu, mu_cache, workspace)   # (B, H)
        dh_logvar, logvar_grads = self.logvar_head.backward(dlogvar, logvar_cache, workspace)
        grads.update(logvar_grads)
        dh += dh_logvar                                               # (B, H)  h feeds both heads
        dx, trunk_grads = self.trunk.backward(dh, trunk_cache, workspace, need_dx=need_dx)
        grads.update(trunk_grads)
        return dx, grads
