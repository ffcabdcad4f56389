# Benign: a tour of itertools, collections, datetime and typing.
import itertools
from collections import OrderedDict, namedtuple
from datetime import date, timedelta
from typing import NamedTuple

Point = namedtuple("Point", "x y")


class Span(NamedTuple):
    start: date
    days: int


pairs = list(itertools.combinations("abcd", 2))
print(pairs)
print(list(itertools.accumulate([1, 2, 3, 4])))
print(OrderedDict(sorted({"b": 2, "a": 1}.items())))
span = Span(date(2024, 1, 1), 10)
print(span.start + timedelta(days=span.days), Point(1, 2))
