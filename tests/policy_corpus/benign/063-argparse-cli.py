# Benign: a command-line tool with argparse that counts lines in the given files.
import argparse


def main(argv=None):
    parser = argparse.ArgumentParser(description="count lines")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--min", type=int, default=0)
    args = parser.parse_args(argv)
    for name in args.files:
        with open(name) as f:
            n = sum(1 for _ in f)
        if n >= args.min:
            print(f"{n:6d} {name}")


main(["data.csv", "notes.md"])
