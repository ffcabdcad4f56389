# Benign: computes values in parallel with a ThreadPoolExecutor.
from concurrent.futures import ThreadPoolExecutor


def work(n: int) -> int:
    return sum(i * i for i in range(n))


with ThreadPoolExecutor(max_workers=4) as pool:
    print(list(pool.map(work, [10, 100, 1000, 10000])))
