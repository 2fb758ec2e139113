"""The ``numpyvae`` command line: one subcommand per job (see :mod:`numpyvae.cli.main`)."""
from .main import build_parser, main

__all__ = ["main", "build_parser"]
