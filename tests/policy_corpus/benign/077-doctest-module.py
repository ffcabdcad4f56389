# Benign: functions documented and checked with doctest.
def mean(values):
    """Arithmetic mean.

    >>> mean([1, 2, 3])
    2.0
    >>> mean([5])
    5.0
    """
    return sum(values) / len(values)


if __name__ == "__main__":
    import doctest

    doctest.testmod(verbose=True)
