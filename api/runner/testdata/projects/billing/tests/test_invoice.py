from billing import invoice_total


def test_src_layout_import():
    assert invoice_total([1.10, 2.20]) == 3.3


def test_invoice_fails():
    assert invoice_total([1]) == 2
