"""Hand-written ops: each ``<op>_forward`` returns ``(out, cache)`` and its ``<op>_backward`` turns
``dL/dout`` into the gradients of the inputs. Importing this package registers every op in
:data:`numpyvae.ops.registry.OPS` for the finite-difference checks."""
from . import activations, gaussian, likelihoods, linear
from .activations import ACTIVATIONS
from .gaussian import (kl_standard_normal_backward, kl_standard_normal_forward, log_normal_backward,
                       log_normal_forward, log_standard_normal_backward, log_standard_normal_forward,
                       reparameterize_backward, reparameterize_forward)
from .likelihoods import (bernoulli_loglik_backward, bernoulli_loglik_forward, gaussian_loglik_backward,
                          gaussian_loglik_forward)
from .linear import (linear_backward, linear_forward, linear_skip_zero_columns_backward,
                     linear_skip_zero_columns_forward)
from .registry import OPS, OpSpec, register_op
from .stable import logmeanexp, logsumexp, sigmoid, softplus

__all__ = [
    "ACTIVATIONS", "OPS", "OpSpec", "register_op", "activations", "gaussian", "likelihoods", "linear",
    "kl_standard_normal_backward", "kl_standard_normal_forward", "log_normal_backward",
    "log_normal_forward", "log_standard_normal_backward", "log_standard_normal_forward",
    "reparameterize_backward", "reparameterize_forward", "bernoulli_loglik_backward",
    "bernoulli_loglik_forward", "gaussian_loglik_backward", "gaussian_loglik_forward",
    "linear_backward", "linear_forward", "linear_skip_zero_columns_backward",
    "linear_skip_zero_columns_forward", "logmeanexp", "logsumexp", "sigmoid", "softplus",
]
