# Benign: a small inventory model with dataclasses.
from dataclasses import asdict, dataclass, field


@dataclass(order=True)
class Item:
    name: str
    price: float
    tags: list[str] = field(default_factory=list)


items = [Item("pen", 1.5, ["office"]), Item("lamp", 25.0), Item("mug", 7.25, ["kitchen"])]
for item in sorted(items, key=lambda i: i.price):
    print(asdict(item))
