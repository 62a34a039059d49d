import pytest


@pytest.fixture
def currency():
    """Overrides the root conftest's fixture for this folder only."""
    return "USD"
