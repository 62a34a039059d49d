"""The code under test, importable because pytest runs in the project root."""
from .cart import Cart  # noqa: F401
