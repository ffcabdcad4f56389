# Benign: a moving average over a stream of numbers with collections.deque.
from collections import deque


def moving_average(values, window=3):
    buf = deque(maxlen=window)
    for value in values:
        buf.append(value)
        yield sum(buf) / len(buf)


print([round(v, 2) for v in moving_average([1, 2, 3, 4, 5, 6, 7, 8], window=4)])
