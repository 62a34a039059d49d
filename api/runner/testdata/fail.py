def test_ok():
    pass


def test_bad():
    got = {"answer": 41}
    assert got["answer"] == 42, "the answer is wrong"
