import pytest

from shopkit import Cart


@pytest.fixture
def cart(currency):
    return Cart(currency)
