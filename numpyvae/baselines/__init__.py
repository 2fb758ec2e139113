"""Kingma & Welling's baselines: the wake-sleep algorithm and Monte Carlo EM."""
from .mcem import MonteCarloEM
from .wake_sleep import WakeSleep, sleep_loss_and_grads, wake_loss_and_grads

__all__ = ["WakeSleep", "MonteCarloEM", "wake_loss_and_grads", "sleep_loss_and_grads"]
