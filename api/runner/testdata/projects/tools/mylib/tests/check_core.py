from mylib.core import double
from . import helpers


def test_package_relative_import():
    assert double(helpers.TWO) == 4
