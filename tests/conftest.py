import os

import pytest

SHARED_MODELS = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..",
                                              "shared", "models"))


def shared_model(*parts):
    """Path of a third-party test model in ../shared/models; skips the test if the
    folder is not beside the checkout."""
    path = os.path.join(SHARED_MODELS, *parts)
    if not os.path.exists(path):
        pytest.skip(f"{path} not found (../shared/models must sit beside the checkout)")
    return path
