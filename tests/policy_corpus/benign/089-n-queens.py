# Benign: counts N-queens solutions by backtracking.
def queens(n, row=0, cols=frozenset(), d1=frozenset(), d2=frozenset()):
    if row == n:
        return 1
    total = 0
    for c in range(n):
        if c in cols or row - c in d1 or row + c in d2:
            continue
        total += queens(n, row + 1, cols | {c}, d1 | {row - c}, d2 | {row + c})
    return total


print({n: queens(n) for n in range(1, 9)})
