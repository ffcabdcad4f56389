# Benign: structural typing with typing.Protocol and a generic container.
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")


class Shape(Protocol):
    def area(self) -> float: ...


class Square:
    def __init__(self, side: float) -> None:
        self.side = side

    def area(self) -> float:
        return self.side**2


class Box(Generic[T]):
    def __init__(self, value: T) -> None:
        self.value = value


def total_area(shapes: list[Shape]) -> float:
    return sum(s.area() for s in shapes)


print(total_area([Square(2), Square(3)]), Box("x").value)
