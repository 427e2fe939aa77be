"""Areas and perimeters of a few shapes, used by the errors-after-save example."""

import math


def circle_area(radius: float) -> float:
    return math.pi * radius ** 2


def circle_perimeter(radius: float) -> float:
    return 2 * math.pi * radius


def rectangle_area(width: float, height: float) -> float:
    return width * height
