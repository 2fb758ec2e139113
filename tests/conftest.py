import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    # The real data sets sit beside the repository in ../shared/data (CI and development machines).
    if "NUMPYVAE_DATA" not in os.environ:
        shared = REPO.parent / "shared" / "data"
        if shared.is_dir():
            os.environ["NUMPYVAE_DATA"] = str(shared)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
