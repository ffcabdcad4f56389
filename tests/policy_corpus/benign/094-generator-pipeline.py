# Benign: a lazy generator pipeline over lines of a local file.
def read_lines(path):
    with open(path) as f:
        yield from f


def non_empty(lines):
    return (line.strip() for line in lines if line.strip())


def numbers(lines):
    for line in lines:
        try:
            yield float(line)
        except ValueError:
            continue


print(sum(numbers(non_empty(read_lines("numbers.txt")))))
