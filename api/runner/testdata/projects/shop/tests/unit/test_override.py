def test_nested_conftest_overrides(cart):
    assert cart.currency == "USD"


def test_fixture_error(missing_fixture):
    pass
