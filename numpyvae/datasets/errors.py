"""Exceptions raised by the data-set loaders.

Every error message names the file (or the places searched) and the problem, so that a
user can act on it without reading a traceback.
"""

__all__ = ["DatasetNotFoundError", "DatasetFormatError", "ChecksumError"]


class DatasetNotFoundError(FileNotFoundError):
    """The files of a data set are in none of the places searched and could not be downloaded.

    The message lists every place looked in, every download attempted, and how to supply the
    files (``--data-dir`` on the command line, ``data_dir=`` in Python, or the environment
    variable ``NUMPYVAE_DATA``).
    """


class DatasetFormatError(ValueError):
    """A data file exists but its content is wrong: corrupt, truncated, or another format.

    Parameters
    ----------
    path : str or os.PathLike
        The offending file; it starts the message.
    problem : str
        What is wrong with it.
    """

    def __init__(self, path, problem):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self):
        return (type(self), (self.path, self.problem))


class ChecksumError(DatasetFormatError):
    """A data file's checksum differs from the published one."""
