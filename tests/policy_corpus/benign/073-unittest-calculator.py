# Benign: a unittest test case for a tiny calculator.
import unittest


def divide(a: float, b: float) -> float:
    if b == 0:
        raise ZeroDivisionError("b must not be zero")
    return a / b


class DivideTest(unittest.TestCase):
    def test_divides(self):
        self.assertEqual(divide(6, 3), 2)

    def test_zero(self):
        with self.assertRaises(ZeroDivisionError):
            divide(1, 0)


if __name__ == "__main__":
    unittest.main()
