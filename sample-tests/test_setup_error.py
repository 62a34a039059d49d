"""A fixture that raises: pytest reports an error in setup, not a failure."""

import pytest


@pytest.fixture
def database():
    raise ConnectionError("cannot connect to the test database (simulated)")


def test_query(database):
    assert database is not None
