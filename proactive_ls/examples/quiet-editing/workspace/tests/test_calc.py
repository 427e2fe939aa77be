from calc import evaluate


def test_addition():
    assert evaluate("1 + 2") == 3


def test_subtraction():
    assert evaluate("5 - 2") == 3
