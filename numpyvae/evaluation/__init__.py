"""Evaluation of trained models, one module per quantity:

- :mod:`.bounds`: a model's bound per datapoint and its mean over a data set;
- :mod:`.importance`: importance-sampled log p(x) (log p(x | c) for conditional models);
- :mod:`.hmc` and :mod:`.marginal_likelihood`: Hamiltonian Monte Carlo on p(z | x) and the
  appendix-D marginal-likelihood estimator of Kingma & Welling built on it;
- :mod:`.active_units`: the active latent units of Burda et al., and each latent dimension's activity
  (mean KL) for choosing the dimensions a figure shows;
- :mod:`.linear_gaussian`: exact log-likelihoods of linear-Gaussian models (PPCA and factor analysis
  fitted by EM), the ground truth a linear VAE is compared with.
"""
from .active_units import active_units, latent_activity, most_active_dims
from .bounds import batch_bound, bound_name, mean_bound
from .hmc import HMCSampler, adapt_step_size, hmc_transition
from .importance import importance_sampled_log_px
from .linear_gaussian import PPCA, FactorAnalysis, linear_gaussian_logpdf, linear_gaussian_posterior, ppca_closed_form
from .marginal_likelihood import hmc_marginal_likelihood

__all__ = ["active_units", "latent_activity", "most_active_dims", "batch_bound", "bound_name", "mean_bound",
           "HMCSampler", "adapt_step_size", "hmc_transition", "importance_sampled_log_px", "PPCA", "FactorAnalysis",
           "linear_gaussian_logpdf", "linear_gaussian_posterior", "ppca_closed_form", "hmc_marginal_likelihood"]
