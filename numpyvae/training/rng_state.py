"""A random generator's state as JSON-friendly values, so a checkpoint can restore it exactly."""
import numpy as np

__all__ = ["rng_state", "rng_from_state"]

_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.name}
    if isinstance(value, np.integer):
        return int(value)
    return value


def _from_jsonable(value):
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return np.asarray(value["__ndarray__"], dtype=value["dtype"])
        return {k: _from_jsonable(v) for k, v in value.items()}
    return value


def rng_state(rng):
    """The state of a ``numpy.random.Generator`` as JSON-friendly values."""
    return _jsonable(rng.bit_generator.state)


def rng_from_state(state):
    """A new ``numpy.random.Generator`` in the state returned by :func:`rng_state`."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in _BIT_GENERATORS:
        raise ValueError(f"unsupported random generator state (bit generator {name!r})")
    bitgen = getattr(np.random, name)()
    try:
        bitgen.state = _from_jsonable(state)
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ValueError(f"invalid {name} random generator state ({detail})") from None
    return np.random.Generator(bitgen)


# ---------------------------------------------------------------------- building and writing
