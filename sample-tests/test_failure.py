"""One passing test and one failing assertion: pytest exits with code 1."""


def test_passes():
    assert "ok" == "ok"


def test_total_is_wrong():
    prices = [10, 20, 30]
    total = sum(prices)
    assert total == 100, "expected the prices to add up to 100, got %d" % total
