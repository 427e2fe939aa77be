from calc import average, evaluate


def test_addition():
    assert evaluate("1 + 2") == 3


def test_precedence():
    assert evaluate("1 + 2 * 3") == 7


def test_average_of_nothing():
    assert average([]) == 0
