"""A tiny calculator used by the replay example."""


def parse(expression: str) -> list[str]:
    """Split '1 + 2' into tokens."""
    return expression.split()


def evaluate(expression: str) -> float:
    tokens = parse(expression)
    total = float(tokens[0])
    for op, value in zip(tokens[1::2], tokens[2::2]):
        if op == "+":
            total += float(value)
        elif op == "-":
            total -= float(value)
        elif op == "*":
            total *= float(value)
        elif op == "/":
            total /= float(value)
    return total


def average(values: list[float]) -> float:
    return sum(values) / len(values)
