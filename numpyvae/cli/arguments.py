"""Argument types of the command lines: every value is checked where it is parsed.

A bad value is then reported by argparse with the flag the user typed ("argument --batch-size: must
be an integer >= 1, got '0'"), on one line after the usage and with exit status 2, never later by a
library function under its Python name, nor by a NumPy error. Both ``numpyvae`` and
``python -m numpyvae.reproduce`` use these.
"""
import argparse
import math

__all__ = ["integer", "positive_int", "nonnegative_int", "real", "positive_float", "nonnegative_float",
           "int_list", "eval_schedule", "image_shape", "given_options", "flag_list", "Parser", "UsageError"]


def _parse_int(text):
    """An int from "12", or from "1e6" / "5.0" when the number is a whole one; None otherwise."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if math.isfinite(value) and value.is_integer() else None


def integer(minimum=None):
    """An argparse type: a whole number, at least ``minimum`` when given."""
    bound = "" if minimum is None else f" >= {minimum}"

    def parse(text):
        value = _parse_int(text)
        if value is None or (minimum is not None and value < minimum):
            raise argparse.ArgumentTypeError(f"must be an integer{bound}, got {text!r}")
        return value

    parse.__name__ = f"integer{bound}"
    return parse


positive_int = integer(1)
nonnegative_int = integer(0)


def real(minimum=None, strict=False):
    """An argparse type: a finite number, >= ``minimum`` (> with ``strict``) when given."""
    bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum:g}"

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        ok = math.isfinite(value) and (minimum is None or (value > minimum if strict else value >= minimum))
        if not ok:
            raise argparse.ArgumentTypeError(f"must be a finite number{bound}, got {text!r}")
        return value

    parse.__name__ = f"number{bound}"
    return parse


positive_float = real(0, strict=True)
nonnegative_float = real(0)


def int_list(minimum=1):
    """An argparse type: "500" or "400,400" (or "" / "none" for none) -> a tuple of ints >= ``minimum``."""
    def parse(text):
        text = text.strip()
        if text in ("", "none", "()"):
            return ()
        values = [_parse_int(t) for t in text.split(",")]
        if any(v is None or v < minimum for v in values):
            raise argparse.ArgumentTypeError(f"expected comma-separated integers >= {minimum} such as 400,400, "
                                             f"got {text!r}")
        return tuple(values)

    parse.__name__ = "integer list"
    return parse


def eval_schedule(text):
    """``--eval-every``: "epoch", "log" or a number of training samples >= 1."""
    if text in ("epoch", "log"):
        return text
    value = _parse_int(text)
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"must be 'epoch', 'log' or a positive integer, got {text!r}")
    return value


def image_shape(text):
    """``--image-shape``: "HxW" -> (H, W), both positive."""
    parts = text.lower().split("x")
    values = [_parse_int(p) for p in parts] if len(parts) == 2 else [None]
    if any(v is None or v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"must look like 28x28, got {text!r}")
    return tuple(values)


def given_options(parser, tokens):
    """The options among ``tokens`` (a command line after the command name) that ``parser`` knows:
    ``{dest: the option string as typed}``. With abbreviations off, every option is spelled in full."""
    given = {}
    for token in tokens:
        if token == "--":
            break
        option = token.split("=", 1)[0]
        action = parser._option_string_actions.get(option)
        if action is not None and action.dest not in given:
            given[action.dest] = option
    return given


def flag_list(flags):
    """"--a, --b and --c"."""
    flags = list(flags)
    return flags[0] if len(flags) == 1 else ", ".join(flags[:-1]) + " and " + flags[-1]


class UsageError(Exception):
    """A command line argparse refused; :class:`Parser` has printed the message already."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that takes no abbreviations (``--epoch`` is not ``--epochs``) and reports a
    bad command line in one line on stderr, naming the flag, then raises :class:`UsageError` (the
    front end returns exit status 2) instead of printing the usage and exiting. Its sub-command
    parsers are of the same class (argparse builds them with the parent's class)."""

    def __init__(self, *args, **kwargs):
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message):
        import sys

        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise UsageError(message)
