"""Finite-difference checks of hand-written gradients: ops, whole models (see :mod:`numpyvae.gradcheck.core`)."""
from .core import (DEFAULT_STEP, ParamCheck, GradcheckReport, check_gradients, check_model, check_op)

__all__ = ['DEFAULT_STEP', 'ParamCheck', 'GradcheckReport', 'check_gradients', 'check_model', 'check_op']
