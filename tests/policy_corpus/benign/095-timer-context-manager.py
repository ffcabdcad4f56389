# Benign: a timing context manager class.
import time


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.elapsed = time.perf_counter() - self.start
        print(f"took {self.elapsed * 1000:.1f} ms")
        return False


with Timer():
    sum(i * i for i in range(200_000))
