"""Passing tests that take about two seconds in total."""

import time


def test_addition():
    time.sleep(0.5)
    assert 1 + 1 == 2


def test_string_methods():
    time.sleep(0.5)
    assert "baton".upper() == "BATON"


def test_list_sorting():
    time.sleep(0.5)
    assert sorted([3, 1, 2]) == [1, 2, 3]


def test_dict_lookup():
    time.sleep(0.5)
    assert {"env": 7}.get("env") == 7
